"""Worker and scheduler processes for the job tests, and small helpers around job rows."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.adapters.settings import Settings
from scaliyo.domain.jobs.job import Job, Queue
from scaliyo.domain.shared.ids import JobId, WorkspaceId

REPO = Path(__file__).resolve().parents[3]
SAMPLES = "tests.integration.helpers.jobs_samples"
T = TypeVar("T")


class Process:
    """A ``scaliyo`` command in a process (and session) of its own, logging to a file."""

    def __init__(self, args: list[str], env: Mapping[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scaliyo.entrypoints.cli.main", *args],
            cwd=REPO,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a crash."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return self.process.returncode


def process_env(settings: Settings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SCALIYO_") and key not in {"DATABASE_URL", "NATS_URL"}
    }
    env.update(
        {
            "DATABASE_URL": settings.database_url or "",
            "NATS_URL": settings.nats_url or "",
            "SCALIYO_ENV": "test",
            "SCALIYO_LOG_LEVEL": "INFO",
            "SCALIYO_DB_POOL_SIZE": "4",
        }
    )
    env.update(extra or {})
    return env


class Processes:
    """Every process a test started; ``stop_all`` ends those still running."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self._settings = settings
        self._log_dir = log_dir
        self._started: list[Process] = []

    def worker(
        self, queues: Iterable[Queue], env: Mapping[str, str] | None = None, name: str = "worker"
    ) -> Process:
        args = ["worker", "--import", SAMPLES]
        for queue in queues:
            args += ["--queue", queue.value]
        return self._start(args, env, name)

    def scheduler(self, env: Mapping[str, str] | None = None, name: str = "scheduler") -> Process:
        return self._start(["scheduler"], env, name)

    def _start(self, args: list[str], env: Mapping[str, str] | None, name: str) -> Process:
        log_path = self._log_dir / f"{name}-{len(self._started)}.log"
        process = Process(args, process_env(self._settings, env), log_path)
        self._started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self._started:
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.log_path.name}\n{p.log()[-4000:]}" for p in self._started)


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, within: float, interval: float = 0.1
) -> T:
    """Poll ``check`` until it returns something other than None (or fail after ``within`` s)."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(interval)


async def queue_job(
    database: Database,
    workspace_id: UUID,
    *,
    queue: Queue,
    type: str,
    params: dict[str, Any],
    max_attempts: int = 5,
) -> JobId:
    """A job queued the application's way: its row and its outbox message in one transaction."""
    job = Job.queue_new(
        id=JobId(new_id()),
        workspace_id=WorkspaceId(workspace_id),
        queue=queue,
        type=type,
        params=params,
        now=datetime.now(UTC),
        max_attempts=max_attempts,
    )
    async with SqlUnitOfWork(database.app, WorkspaceId(workspace_id)) as uow:
        await uow.jobs.add(job)
        await uow.commit()
    return job.id


async def job_row(owner: AsyncEngine, job_id: UUID) -> Any:
    async with owner.connect() as connection:
        return (
            await connection.execute(text("SELECT * FROM jobs WHERE id = :id"), {"id": job_id})
        ).one()


async def finished_job(owner: AsyncEngine, job_id: UUID) -> Any | None:
    row = await job_row(owner, job_id)
    return row if row.status in {"completed", "failed"} else None


async def finished_events(owner: AsyncEngine, job_id: UUID) -> int:
    """How many ``job.finished`` events the job's outcome wrote (its effect, counted)."""
    async with owner.connect() as connection:
        return await connection.scalar(
            text(
                "SELECT count(*) FROM outbox WHERE aggregate_id = :id"
                " AND message_type = 'job.finished'"
            ),
            {"id": job_id},
        )


async def mark_messages_sent(owner: AsyncEngine, workspace_id: UUID) -> None:
    """Take a workspace's unsent outbox rows out of the relay's way (tests that run no relay
    leave nothing behind for other tests' relays)."""
    async with owner.begin() as connection:
        await connection.execute(
            text("UPDATE outbox SET sent_at = now() WHERE workspace_id = :ws AND sent_at IS NULL"),
            {"ws": workspace_id},
        )
