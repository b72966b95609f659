"""Outbox relay throughput against raw JetStream async publish, measured in one run.

    uv run python bench/outbox_relay.py [--events 20000] [--aggregates 1000]

Starts its own embedded PostgreSQL and NATS (under /tmp, removed after), migrates, writes the
events to the outbox (not timed), then times:

- baseline: ``js.publish_async`` of the same payloads and headers with the same bound on pending
  acks, no database at all;
- relay: ``OutboxRelay.relay_once`` until the outbox is empty (read batch, publish, wait for
  acks, mark sent).

It prints events/s for both and their ratio, then the same for a single aggregate (the relay
keeps one message of an aggregate in flight at a time, so that is its slowest case).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.messaging import headers as h
from scaliyo.adapters.messaging.connection import connect_nats
from scaliyo.adapters.messaging.relay import OutboxRelay
from scaliyo.adapters.messaging.streams import ensure_streams
from scaliyo.adapters.persistence import migrate
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.outbox_writer import event_subject, message_row, write_outbox
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.adapters.settings import Settings
from scaliyo.entrypoints.dev.servers import start_nats, start_postgres

MAX_PENDING = 256
EVENT_TYPE = "bench_lead_scored"


def rows_for(workspace: UUID, events: int, aggregates: int) -> list[dict]:
    ids = [new_id() for _ in range(aggregates)]
    return [
        message_row(
            subject=event_subject(EVENT_TYPE),
            workspace_id=workspace,
            aggregate_type="lead",
            aggregate_id=ids[i % aggregates],
            message_type=EVENT_TYPE,
            payload={
                "type": EVENT_TYPE,
                "version": 1,
                "workspace_id": str(workspace),
                "aggregate_id": str(ids[i % aggregates]),
                "score": i % 101,
                "reasons": ["title matches", "company size in range", "country in ICP"],
            },
        )
        for i in range(events)
    ]


async def write_rows(database: Database, workspace: UUID, rows: list[dict]) -> None:
    for start in range(0, len(rows), 5_000):
        async with SqlUnitOfWork(database.app, workspace) as uow:
            await write_outbox(uow.connection, rows[start : start + 5_000])
            await uow.commit()


async def baseline(js, rows: list[dict]) -> float:
    """Seconds to publish the same messages straight to JetStream (fresh ids: not duplicates)."""
    messages = [
        (
            row["subject"],
            json.dumps(row["payload"]).encode(),
            {
                h.MSG_ID: str(new_id()),
                h.MESSAGE_TYPE: row["message_type"],
                h.MESSAGE_VERSION: "1",
                h.WORKSPACE_ID: str(row["workspace_id"]),
                h.AGGREGATE: f"lead:{row['aggregate_id']}",
            },
        )
        for row in rows
    ]
    slots = asyncio.Semaphore(MAX_PENDING)
    futures = []

    def release(_future) -> None:
        slots.release()

    started = time.perf_counter()
    for subject, payload, headers in messages:
        await slots.acquire()
        future = await js.publish_async(subject, payload, headers=headers)
        future.add_done_callback(release)
        futures.append(future)
    await asyncio.gather(*futures)
    return time.perf_counter() - started


async def relay_all(database: Database, js) -> tuple[float, int]:
    relay = OutboxRelay(database.system, js, max_pending=MAX_PENDING)
    started = time.perf_counter()
    try:
        while await relay.relay_once():
            pass
    finally:
        elapsed = time.perf_counter() - started
        await relay.aclose()
    return elapsed, relay.published


async def scenario(database, js, workspace, events: int, aggregates: int) -> str:
    rows = rows_for(workspace, events, aggregates)
    base_seconds = await baseline(js, rows)
    await write_rows(database, workspace, rows)
    relay_seconds, published = await relay_all(database, js)
    assert published == events, (published, events)
    base_rate, relay_rate = events / base_seconds, events / relay_seconds
    return (
        f"{events:>7,} events over {aggregates:>5,} aggregates: "
        f"baseline {base_rate:>9,.0f} events/s   relay {relay_rate:>9,.0f} events/s   "
        f"ratio {relay_rate / base_rate:.2f}"
    )


async def main(events: int, aggregates: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="sc-bench-", dir="/tmp"))
    postgres = await asyncio.to_thread(start_postgres, root / "pg", delete_on_stop=True)
    nats_server = await asyncio.to_thread(start_nats, root / "nats")
    try:
        await migrate.upgrade(make_url(postgres.url))
        settings = Settings(database_url=postgres.url, nats_url=nats_server.url, db_pool_size=4)
        database = Database.connect(settings)
        nc = await connect_nats(nats_server.url, name="bench-relay")
        owner = create_async_engine(postgres.url)
        try:
            workspace = new_id()
            async with owner.begin() as conn:
                await conn.execute(
                    text("INSERT INTO workspaces (id, name) VALUES (:id, 'Bench')"),
                    {"id": workspace},
                )
            js = nc.jetstream()
            await ensure_streams(js)
            await scenario(database, js, workspace, 1_000, 100)  # warm-up, not reported
            print(f"outbox relay (max {MAX_PENDING} pending acks, batch 500)")
            print(await scenario(database, js, workspace, events, aggregates))
            print(await scenario(database, js, workspace, max(events // 10, 1), 1))
        finally:
            await nc.close()
            await database.dispose()
            await owner.dispose()
    finally:
        nats_server.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--aggregates", type=int, default=1_000)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.aggregates))
