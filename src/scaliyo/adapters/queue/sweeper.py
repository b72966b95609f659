"""The job sweeper: nothing stays stuck forever.

A job's message can be lost to it: dropped after ``max_deliver`` deliveries, or acked by a worker
that saw the job running elsewhere just before that worker died. The sweeper finds jobs that
look stuck — queued and due with no message pending in the outbox, or processing with a lease
lapsed — and untouched for ``stale_after``, and queues a new message for each through the outbox.

Finding them across workspaces is a named platform path (``scaliyo_system``); each job is then
re-checked and re-queued in its own tenant transaction as ``scaliyo_app`` (``FOR UPDATE SKIP
LOCKED``, and ``updated_at`` is touched so the next sweep leaves it alone for ``stale_after``).
A re-published message for a job that is in fact fine is harmless: the lease skips it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.persistence.outbox_writer import message_row, write_outbox
from scaliyo.adapters.persistence.tables import jobs, outbox
from scaliyo.adapters.persistence.unit_of_work import set_tenant
from scaliyo.adapters.queue.messages import RUN_JOB_TASK, queue_subject, run_job_message
from scaliyo.domain.jobs.job import JobStatus, Queue

log = logging.getLogger("scaliyo.jobs.sweeper")

_now = func.clock_timestamp


def _stuck(stale_after: timedelta) -> ColumnElement[bool]:
    cutoff = _now() - stale_after
    pending_message = exists().where(
        outbox.c.workspace_id == jobs.c.workspace_id,
        outbox.c.aggregate_id == jobs.c.id,
        outbox.c.sent_at.is_(None),
    )
    return and_(
        jobs.c.updated_at < cutoff,
        or_(
            and_(
                jobs.c.status == JobStatus.QUEUED.value,
                or_(jobs.c.run_after.is_(None), jobs.c.run_after <= _now()),
                ~pending_message,
            ),
            and_(
                jobs.c.status == JobStatus.PROCESSING.value,
                or_(jobs.c.locked_until.is_(None), jobs.c.locked_until < cutoff),
            ),
        ),
    )


async def sweep_stuck_jobs(
    system_engine: AsyncEngine, app_engine: AsyncEngine, *, stale_after: timedelta, limit: int = 500
) -> int:
    """Re-queue up to ``limit`` stuck jobs; returns how many were re-queued."""
    async with system_engine.connect() as connection:
        candidates = (
            await connection.execute(
                select(jobs.c.id, jobs.c.workspace_id)
                .where(_stuck(stale_after))
                .order_by(jobs.c.updated_at)
                .limit(limit)
            )
        ).all()
    requeued = 0
    for job_id, workspace_id in candidates:
        async with app_engine.begin() as connection:
            await set_tenant(connection, workspace_id)
            row = (
                await connection.execute(
                    select(jobs.c.id, jobs.c.queue)
                    .where(jobs.c.id == job_id, _stuck(stale_after))
                    .with_for_update(skip_locked=True)
                )
            ).first()
            if row is None:
                continue
            await connection.execute(
                update(jobs).where(jobs.c.id == job_id).values(updated_at=_now())
            )
            await write_outbox(
                connection,
                [
                    message_row(
                        subject=queue_subject(Queue(row.queue)),
                        workspace_id=workspace_id,
                        aggregate_type="job",
                        aggregate_id=job_id,
                        message_type=RUN_JOB_TASK,
                        payload=run_job_message(job_id, workspace_id),
                    )
                ],
            )
            requeued += 1
    if requeued:
        log.warning("re-queued stuck jobs", extra={"count": requeued})
    return requeued
