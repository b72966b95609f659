from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.outbox_writer import message_row, write_outbox
from scaliyo.adapters.persistence.tables import jobs
from scaliyo.adapters.queue.messages import RUN_JOB_TASK, job_message, queue_subject
from scaliyo.domain.jobs.job import Job, JobStatus, Progress, Queue
from scaliyo.domain.shared.ids import JobId, WorkspaceId


class SqlJobRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, job: Job) -> None:
        await self._connection.execute(insert(jobs).values(**job_values(job)))
        await write_outbox(
            self._connection,
            [
                message_row(
                    subject=queue_subject(job.queue),
                    workspace_id=job.workspace_id,
                    aggregate_type="job",
                    aggregate_id=job.id,
                    message_type=RUN_JOB_TASK,
                    payload=job_message(job),
                )
            ],
        )

    async def get(self, job_id: JobId) -> Job | None:
        row = (await self._connection.execute(select(jobs).where(jobs.c.id == job_id))).first()
        return None if row is None else job_from_row(row)

    async def list(
        self,
        *,
        limit: int,
        before: UUID | None,
        status: JobStatus | None,
        queue: Queue | None,
        type: str | None,
    ) -> list[Job]:
        query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(jobs.c.id < before)
        if status is not None:
            query = query.where(jobs.c.status == status.value)
        if queue is not None:
            query = query.where(jobs.c.queue == queue.value)
        if type is not None:
            query = query.where(jobs.c.type == type)
        return [job_from_row(row) for row in await self._connection.execute(query)]


def job_values(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "workspace_id": job.workspace_id,
        "queue": job.queue.value,
        "type": job.type,
        "status": job.status.value,
        "params": job.params,
        "processed": job.progress.processed,
        "total": job.progress.total,
        "result": job.result,
        "error": job.error,
        "tokens": job.tokens,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "locked_until": job.locked_until,
        "run_after": job.run_after,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def job_from_row(row: Row) -> Job:
    return Job(
        id=JobId(row.id),
        workspace_id=WorkspaceId(row.workspace_id),
        queue=Queue(row.queue),
        type=row.type,
        status=JobStatus(row.status),
        params=row.params,
        progress=Progress(processed=row.processed, total=row.total),
        created_at=row.created_at,
        updated_at=row.updated_at,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        result=row.result,
        error=row.error,
        tokens=row.tokens,
        locked_until=row.locked_until,
        run_after=row.run_after,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )
