from __future__ import annotations

from typing import Protocol
from uuid import UUID

from scaliyo.application.shared.ports import BaseUnitOfWork
from scaliyo.domain.jobs.job import Job, JobStatus, Queue
from scaliyo.domain.shared.ids import JobId


class JobRepository(Protocol):
    async def add(self, job: Job) -> None:
        """Store a new job and queue its message in the same transaction (via the outbox)."""
        ...

    async def get(self, job_id: JobId) -> Job | None: ...

    async def list(
        self,
        *,
        limit: int,
        before: UUID | None,
        status: JobStatus | None,
        queue: Queue | None,
        type: str | None,
    ) -> list[Job]:
        """Newest first, at most ``limit`` jobs with ids below ``before``."""
        ...


class JobsUnitOfWork(BaseUnitOfWork, Protocol):
    jobs: JobRepository
