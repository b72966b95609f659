"""The outbox relay on real PostgreSQL and NATS: crash safety, order per aggregate, one active
relay, outages, and outbox/inbox housekeeping."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.messaging import headers as h
from scaliyo.adapters.messaging.connection import connect_nats
from scaliyo.adapters.messaging.housekeeping import purge_outbox_and_inbox
from scaliyo.adapters.messaging.relay import (
    FAILPOINT_AFTER_PUBLISH,
    FAILPOINT_ENV,
    OutboxRelay,
    RelayPublishFailed,
)
from scaliyo.adapters.messaging.streams import ensure_streams
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.outbox_writer import event_subject, message_row, write_outbox
from scaliyo.adapters.persistence.tables import inbox, outbox
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.entrypoints.dev.servers import free_port, start_nats
from tests.factories import insert_workspace
from tests.integration.helpers.events import (
    audit_consumer,
    audit_count,
    consumer_settled,
    consuming,
    drain_outbox,
    read_subject,
    relaying,
    subject_count,
    unique_name,
    unique_type,
    wait_until,
)

RELAY_PROCESS = Path(__file__).parent / "helpers" / "relay_process.py"


@pytest.fixture
def js(nc: Client) -> JetStreamContext:
    return nc.jetstream()


def event_rows(
    workspace: UUID, event_type: str, aggregates: list[UUID], per_aggregate: int
) -> list[dict[str, Any]]:
    """``per_aggregate`` events for each aggregate, interleaved, numbered per aggregate."""
    return [
        message_row(
            subject=event_subject(event_type),
            workspace_id=workspace,
            aggregate_type="test",
            aggregate_id=aggregate,
            message_type=event_type,
            payload={
                "type": event_type,
                "version": 1,
                "workspace_id": str(workspace),
                "aggregate": str(aggregate),
                "n": n,
                "key": f"{aggregate}:{n}",
            },
        )
        for n in range(per_aggregate)
        for aggregate in aggregates
    ]


async def write_rows(database: Database, workspace: UUID, rows: list[dict[str, Any]]) -> list[UUID]:
    async with SqlUnitOfWork(database.app, workspace) as uow:
        await write_outbox(uow.connection, rows)
        await uow.commit()
    return [row["id"] for row in rows]


async def unsent(engine: AsyncEngine, ids: list[UUID]) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).where(outbox.c.id.in_(ids), outbox.c.sent_at.is_(None))
        return (await conn.execute(query)).scalar_one()


def assert_in_order_once(messages, ids: list[UUID], aggregates: list[UUID], per_aggregate: int):
    """Every outbox row arrived once, with its id as Nats-Msg-Id, in order per aggregate."""
    assert len(messages) == len(ids)
    assert sorted(UUID(m.headers[h.MSG_ID]) for m in messages) == sorted(ids)
    seen: dict[str, list[int]] = defaultdict(list)
    for message in messages:
        payload = json.loads(message.data)
        seen[payload["aggregate"]].append(payload["n"])
    assert set(seen) == {str(a) for a in aggregates}
    for numbers in seen.values():
        assert numbers == list(range(per_aggregate))


async def test_a_relay_killed_between_publish_and_mark_sent_leads_to_one_effect(
    database: Database,
    owner_engine: AsyncEngine,
    js: JetStreamContext,
    migrated_url: str,
    nats_url: str,
) -> None:
    await drain_outbox(database, js)
    workspace = await insert_workspace(owner_engine, "Relay crash")
    event_type = unique_type("noted")
    name = unique_name("crash")
    calls: list[dict[str, Any]] = []
    consumer = audit_consumer(name, event_type, calls)
    ids = await write_rows(database, workspace, event_rows(workspace, event_type, [new_id()], 1))

    async with consuming([consumer], database, js):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(RELAY_PROCESS),
            migrated_url,
            nats_url,
            env={**os.environ, FAILPOINT_ENV: FAILPOINT_AFTER_PUBLISH},
        )
        try:
            returncode = await asyncio.wait_for(process.wait(), 60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert returncode == -signal.SIGKILL
        # It died after JetStream acked the message and before the row was marked sent.
        assert await unsent(owner_engine, ids) == 1
        assert await subject_count(js, event_subject(event_type)) == 1

        async with relaying(database, js) as relay:
            await wait_until(lambda: _all_sent(owner_engine, ids), what="the fresh relay")
        assert relay.published >= 1
        await wait_until(lambda: _audited(owner_engine, workspace, event_type), what="the effect")
        await wait_until(lambda: consumer_settled(js, name), what="the consumer to settle")

    # The republish fell in the duplicate window: one message, one effect.
    assert await subject_count(js, event_subject(event_type)) == 1
    assert await audit_count(owner_engine, workspace, event_type) == 1
    assert len(calls) == 1


async def test_5000_events_relay_in_order_per_aggregate_with_two_relays_running(
    database: Database, owner_engine: AsyncEngine, js: JetStreamContext, nats_url: str
) -> None:
    await drain_outbox(database, js)
    workspace = await insert_workspace(owner_engine, "Relay order")
    event_type = unique_type("stepped")
    aggregates = [new_id() for _ in range(50)]
    ids = await write_rows(database, workspace, event_rows(workspace, event_type, aggregates, 100))

    nc_a = await connect_nats(nats_url, name="relay-a")
    nc_b = await connect_nats(nats_url, name="relay-b")
    relay_a = OutboxRelay(database.system, nc_a.jetstream(), standby_interval=0.05)
    relay_b = OutboxRelay(database.system, nc_b.jetstream(), standby_interval=0.05)
    stop = asyncio.Event()
    running: list[asyncio.Task] = []
    try:
        assert await relay_a.relay_once() == 500
        assert relay_a.is_active
        # Only one relay publishes at a time: the other one stands by.
        assert await relay_b.relay_once() == 0
        assert not relay_b.is_active

        running.append(asyncio.create_task(relay_b.run(stop)))
        for _ in range(3):
            assert await relay_a.relay_once() == 500
        assert not relay_b.is_active
        await relay_a.aclose()  # A steps down mid-stream; B takes over
        await wait_until(lambda: _is_active(relay_b), what="relay B to take over")
        running.append(asyncio.create_task(relay_a.run(stop)))
        await wait_until(lambda: _all_sent(owner_engine, ids), what="all 5,000 rows sent")
    finally:
        stop.set()
        await asyncio.gather(*running)
        await nc_a.close()
        await nc_b.close()

    assert relay_a.published == 2000
    assert relay_b.published >= 3000
    messages = await read_subject(js, event_subject(event_type), expected=len(ids))
    assert_in_order_once(messages, ids, aggregates, 100)
    first = messages[0]
    assert first.headers[h.MESSAGE_TYPE] == event_type
    assert first.headers[h.MESSAGE_VERSION] == "1"
    assert first.headers[h.WORKSPACE_ID] == str(workspace)


async def test_while_nats_is_down_nothing_is_marked_and_nothing_is_lost_or_reordered(
    database: Database, owner_engine: AsyncEngine, js: JetStreamContext
) -> None:
    await drain_outbox(database, js)
    store = Path(tempfile.mkdtemp(prefix="sc-nats-down-", dir="/tmp"))
    port = free_port()
    server = await asyncio.to_thread(start_nats, store, port=port)
    nc = await connect_nats(server.url, name="relay-outage")
    try:
        own_js = nc.jetstream()
        await ensure_streams(own_js)
        workspace = await insert_workspace(owner_engine, "Relay outage")
        event_type = unique_type("stepped")
        aggregates = [new_id() for _ in range(10)]
        ids = await write_rows(
            database, workspace, event_rows(workspace, event_type, aggregates, 20)
        )
        relay = OutboxRelay(database.system, own_js, ack_timeout=0.5)
        server.stop()
        try:
            with pytest.raises(RelayPublishFailed):
                await relay.relay_once()
            assert await unsent(owner_engine, ids) == len(ids)
        finally:
            await relay.aclose()

        server = await asyncio.to_thread(start_nats, store, port=port)
        async with relaying(database, own_js, poll_interval=0.05):
            await wait_until(lambda: _all_sent(owner_engine, ids), what="rows sent after restart")
        messages = await read_subject(own_js, event_subject(event_type), expected=len(ids))
        assert_in_order_once(messages, ids, aggregates, 20)
    finally:
        await nc.close()
        server.stop()
        shutil.rmtree(store, ignore_errors=True)


@pytest.mark.parametrize("checked_first", [True, False])
async def test_a_message_too_large_for_nats_is_set_aside_and_its_aggregate_goes_on(
    database: Database,
    owner_engine: AsyncEngine,
    nc: Client,
    js: JetStreamContext,
    checked_first: bool,
) -> None:
    """Set aside with why (and never tried again), while the rest of its aggregate and the
    other aggregates go out in order, and the round is no failure: retried, it would fail
    every round, and every round would back off. ``checked_first``: the relay knows the
    connection's ``max_payload``; else nats-py's refusal tells it."""
    await drain_outbox(database, js)
    workspace = await insert_workspace(owner_engine, "Relay dead letter")
    event_type = unique_type("oversized")
    big, other = new_id(), new_id()
    rows = event_rows(workspace, event_type, [big, other], 3)
    too_large = rows[2]  # the second message of ``big``
    too_large["payload"] = {**too_large["payload"], "blob": "x" * (nc.max_payload + 1)}
    ids = await write_rows(database, workspace, rows)
    options = {"max_payload": nc.max_payload} if checked_first else {}
    relay = OutboxRelay(database.system, js, **options)
    try:
        assert await relay.relay_once() == 5
        assert await relay.relay_once() == 0  # marks the last round; the dead row stays out
    finally:
        await relay.aclose()
    messages = await read_subject(js, event_subject(event_type), expected=5)
    arrived = [(json.loads(m.data)["aggregate"], json.loads(m.data)["n"]) for m in messages]
    assert [n for aggregate, n in arrived if aggregate == str(big)] == [0, 2]
    assert [n for aggregate, n in arrived if aggregate == str(other)] == [0, 1, 2]
    async with owner_engine.connect() as conn:
        states = {
            row.id: (row.sent_at is not None, row.dead_at is not None, row.dead_reason)
            for row in await conn.execute(
                select(outbox.c.id, outbox.c.sent_at, outbox.c.dead_at, outbox.c.dead_reason).where(
                    outbox.c.id.in_(ids)
                )
            )
        }
    sent, dead, reason = states.pop(too_large["id"])
    assert (sent, dead) == (False, True)
    assert "max_payload" in reason
    assert set(states.values()) == {(True, False, None)}


async def test_housekeeping_deletes_sent_outbox_rows_and_old_inbox_rows_only(
    database: Database, owner_engine: AsyncEngine
) -> None:
    workspace = await insert_workspace(owner_engine, "Housekeeping")
    event_type = unique_type("kept")
    consumer = unique_name("housekeeping")
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=10), now - timedelta(hours=1)
    rows = event_rows(workspace, event_type, [new_id()], 3)
    for row, created, sent in zip(rows, [old, old, old], [old, recent, None], strict=True):
        row.update(created_at=created, sent_at=sent)
    inbox_rows = [
        {
            "consumer": consumer,
            "message_id": new_id(),
            "workspace_id": workspace,
            "processed_at": at,
        }
        for at in (now - timedelta(days=9), now - timedelta(days=1))
    ]
    async with owner_engine.begin() as conn:
        await conn.execute(insert(outbox), rows)
        await conn.execute(insert(inbox), inbox_rows)

    try:
        deleted = await purge_outbox_and_inbox(
            database.system,
            sent_older_than=timedelta(days=1),
            inbox_older_than=timedelta(days=8),
            batch_size=1,
        )
        assert deleted["outbox"] >= 1
        assert deleted["inbox"] >= 1
        async with owner_engine.connect() as conn:
            left = set(
                (await conn.execute(select(outbox.c.id).where(outbox.c.message_type == event_type)))
                .scalars()
                .all()
            )
            kept_inbox = set(
                (await conn.execute(select(inbox.c.message_id).where(inbox.c.consumer == consumer)))
                .scalars()
                .all()
            )
        # the old sent row is gone; the recently sent and the (old) unsent ones stay
        assert left == {rows[1]["id"], rows[2]["id"]}
        assert kept_inbox == {inbox_rows[1]["message_id"]}

        with pytest.raises(ValueError, match="shorter than"):
            await purge_outbox_and_inbox(
                database.system,
                sent_older_than=timedelta(days=1),
                inbox_older_than=timedelta(days=1),
            )
    finally:
        async with owner_engine.begin() as conn:
            await conn.execute(outbox.delete().where(outbox.c.message_type == event_type))


async def _all_sent(engine: AsyncEngine, ids: list[UUID]) -> bool:
    return await unsent(engine, ids) == 0


async def _audited(engine: AsyncEngine, workspace: UUID, action: str) -> bool:
    return await audit_count(engine, workspace, action) >= 1


async def _is_active(relay: OutboxRelay) -> bool:
    return relay.is_active
