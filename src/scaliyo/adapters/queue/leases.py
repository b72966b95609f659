"""Job leases in PostgreSQL: the job row as a running job sees it.

Every call is one short transaction as ``scaliyo_app`` scoped to the job's workspace. A lease is
taken with one conditional ``UPDATE … RETURNING`` (queued and due, or processing with a lapsed
``locked_until``), which also counts the attempt; every later write is fenced by that attempt
number, so a worker whose lease was taken over can no longer change the row. Times come from the
database clock (``clock_timestamp()``), the one clock every worker shares.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from scaliyo.adapters.persistence.outbox_writer import event_row, write_outbox
from scaliyo.adapters.persistence.tables import jobs
from scaliyo.adapters.persistence.unit_of_work import set_tenant
from scaliyo.application.jobs.execution import Lease, Refusal
from scaliyo.domain.jobs.job import FINAL_STATUSES, JobFinished, JobStatus, Progress
from scaliyo.domain.shared.ids import JobId, WorkspaceId

WORKER_LOST = "The job's last attempt stopped without finishing (its worker was lost)."
# A message for a job that runs elsewhere comes back this long after that lease would lapse.
BUSY_MARGIN_SECONDS = 1.0

_now = func.clock_timestamp


class SqlJobLeases:
    def __init__(self, engine: AsyncEngine, *, lease_seconds: float) -> None:
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self._engine = engine
        self._lease = timedelta(seconds=lease_seconds)

    @asynccontextmanager
    async def _tenant(self, workspace_id: WorkspaceId) -> AsyncIterator[AsyncConnection]:
        async with self._engine.begin() as connection:
            await set_tenant(connection, workspace_id)
            yield connection

    async def peek(self, job_id: JobId, workspace_id: WorkspaceId) -> Refusal | None:
        async with self._tenant(workspace_id) as connection:
            return _refusal(await _state(connection, job_id))

    async def take(self, job_id: JobId, workspace_id: WorkspaceId) -> Lease | Refusal:
        async with self._tenant(workspace_id) as connection:
            row = (
                await connection.execute(
                    update(jobs)
                    .where(jobs.c.id == job_id, jobs.c.attempts < jobs.c.max_attempts, _takeable())
                    .values(
                        status=JobStatus.PROCESSING.value,
                        attempts=jobs.c.attempts + 1,
                        locked_until=_now() + self._lease,
                        started_at=_now(),
                        updated_at=_now(),
                        run_after=None,
                    )
                    .returning(
                        jobs.c.id,
                        jobs.c.workspace_id,
                        jobs.c.type,
                        jobs.c.params,
                        jobs.c.processed,
                        jobs.c.total,
                        jobs.c.attempts,
                        jobs.c.max_attempts,
                    )
                )
            ).first()
            if row is not None:
                return Lease(
                    job_id=JobId(row.id),
                    workspace_id=WorkspaceId(row.workspace_id),
                    type=row.type,
                    params=dict(row.params or {}),
                    progress=Progress(processed=row.processed, total=row.total),
                    attempt=row.attempts,
                    max_attempts=row.max_attempts,
                )
            state = await _state(connection, job_id)
            refusal = _refusal(state)
            if refusal is not None:
                return refusal
            if state is not None and state.attempts >= state.max_attempts:
                await _fail_exhausted(connection, job_id, WorkspaceId(state.workspace_id))
                return Refusal("out of attempts")
            # Changed between the two statements: look again shortly.
            return Refusal("contended", retry_in=BUSY_MARGIN_SECONDS)

    async def renew(self, lease: Lease) -> bool:
        return await self._fenced(lease, locked_until=_now() + self._lease)

    async def record_progress(self, lease: Lease, progress: Progress) -> bool:
        return await self._fenced(
            lease,
            processed=progress.processed,
            total=progress.total,
            locked_until=_now() + self._lease,
        )

    async def add_tokens(self, lease: Lease, tokens: int) -> bool:
        return await self._fenced(lease, tokens=jobs.c.tokens + tokens)

    async def complete(self, lease: Lease, result: dict[str, Any] | None) -> bool:
        return await self._fenced(
            lease,
            finished=JobFinished(
                workspace_id=lease.workspace_id,
                aggregate_id=lease.job_id,
                job_id=lease.job_id,
                status=JobStatus.COMPLETED.value,
            ),
            status=JobStatus.COMPLETED.value,
            result=result,
            error=None,
            locked_until=None,
            finished_at=_now(),
        )

    async def retry_later(self, lease: Lease, error: str, delay: timedelta) -> bool:
        return await self._fenced(
            lease,
            status=JobStatus.QUEUED.value,
            error=error,
            locked_until=None,
            run_after=_now() + delay,
        )

    async def fail(self, lease: Lease, error: str) -> bool:
        return await self._fenced(
            lease,
            finished=JobFinished(
                workspace_id=lease.workspace_id,
                aggregate_id=lease.job_id,
                job_id=lease.job_id,
                status=JobStatus.FAILED.value,
                error=error,
            ),
            status=JobStatus.FAILED.value,
            error=error,
            locked_until=None,
            finished_at=_now(),
        )

    async def release(self, lease: Lease) -> bool:
        return await self._fenced(
            lease,
            status=JobStatus.QUEUED.value,
            attempts=jobs.c.attempts - 1,
            locked_until=None,
            run_after=None,
        )

    async def _fenced(
        self, lease: Lease, *, finished: JobFinished | None = None, **values: Any
    ) -> bool:
        """One update that only the holder of ``lease`` can make (plus its event, if any)."""
        async with self._tenant(lease.workspace_id) as connection:
            row = (
                await connection.execute(
                    update(jobs)
                    .where(
                        jobs.c.id == lease.job_id,
                        jobs.c.status == JobStatus.PROCESSING.value,
                        jobs.c.attempts == lease.attempt,
                    )
                    .values(**values, updated_at=_now())
                    .returning(jobs.c.id)
                )
            ).first()
            if row is None:
                return False
            if finished is not None:
                await write_outbox(connection, [event_row(finished)])
            return True


def _takeable() -> ColumnElement[bool]:
    return or_(
        and_(
            jobs.c.status == JobStatus.QUEUED.value,
            or_(jobs.c.run_after.is_(None), jobs.c.run_after <= _now()),
        ),
        and_(
            jobs.c.status == JobStatus.PROCESSING.value,
            or_(jobs.c.locked_until.is_(None), jobs.c.locked_until < _now()),
        ),
    )


async def _state(connection: AsyncConnection, job_id: JobId) -> Row | None:
    return (
        await connection.execute(
            select(
                jobs.c.workspace_id,
                jobs.c.status,
                jobs.c.attempts,
                jobs.c.max_attempts,
                jobs.c.locked_until,
                jobs.c.run_after,
                _now().label("now"),
            ).where(jobs.c.id == job_id)
        )
    ).first()


def _refusal(state: Row | None) -> Refusal | None:
    """Why a job in ``state`` cannot be taken now; None when it can (or is out of attempts)."""
    if state is None:
        return Refusal("no such job")
    status = JobStatus(state.status)
    if status in FINAL_STATUSES:
        return Refusal("finished")
    if status is JobStatus.QUEUED and state.run_after is not None and state.run_after > state.now:
        return Refusal("not due yet", retry_in=(state.run_after - state.now).total_seconds())
    if (
        status is JobStatus.PROCESSING
        and state.locked_until is not None
        and state.locked_until >= state.now
    ):
        remaining = (state.locked_until - state.now).total_seconds()
        return Refusal("running elsewhere", retry_in=remaining + BUSY_MARGIN_SECONDS)
    return None


async def _fail_exhausted(
    connection: AsyncConnection, job_id: JobId, workspace_id: WorkspaceId
) -> None:
    """A job whose last attempt's worker died: failed, once (the update is conditional)."""
    row = (
        await connection.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.attempts >= jobs.c.max_attempts, _takeable())
            .values(
                status=JobStatus.FAILED.value,
                error=WORKER_LOST,
                locked_until=None,
                finished_at=_now(),
                updated_at=_now(),
            )
            .returning(jobs.c.id)
        )
    ).first()
    if row is not None:
        finished = JobFinished(
            workspace_id=workspace_id,
            aggregate_id=job_id,
            job_id=job_id,
            status=JobStatus.FAILED.value,
            error=WORKER_LOST,
        )
        await write_outbox(connection, [event_row(finished)])
