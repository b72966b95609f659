"""Background jobs: what a job is, its life cycle and its retry rules.

A job is a row users can watch (status, progress, result, error, tokens). Its life cycle:
queued → processing → completed | failed, with processing → queued again for a retry. The
worker that runs it holds a lease (``locked_until``); a lapsed lease means its worker died.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

import msgspec

from scaliyo.domain.shared.errors import Conflict, FieldError, NotFound, ValidationFailed
from scaliyo.domain.shared.events import Event
from scaliyo.domain.shared.ids import JobId, WorkspaceId


class Queue(StrEnum):
    AI_GENERATION = "ai-generation"
    DATA_PROCESSING = "data-processing"


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


FINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED})

DEFAULT_MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(seconds=5)
BACKOFF_CAP = timedelta(minutes=10)


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff after the ``attempt``-th failed try (1-based), capped."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    seconds = BACKOFF_BASE.total_seconds() * (2 ** min(attempt - 1, 20))
    return min(timedelta(seconds=seconds), BACKOFF_CAP)


class Progress(msgspec.Struct, frozen=True, kw_only=True):
    processed: int = 0
    total: int | None = None

    def __post_init__(self) -> None:
        if self.processed < 0:
            raise ValueError("processed cannot be negative")
        if self.total is not None and (self.total < 0 or self.processed > self.total):
            raise ValueError("processed cannot exceed total")


class Job(msgspec.Struct, kw_only=True):
    id: JobId
    workspace_id: WorkspaceId
    queue: Queue
    type: str
    status: JobStatus
    params: dict[str, Any]
    progress: Progress
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    result: dict[str, Any] | None = None
    error: str | None = None
    tokens: int = 0
    locked_until: datetime | None = None
    run_after: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @classmethod
    def queue_new(
        cls,
        *,
        id: JobId,
        workspace_id: WorkspaceId,
        queue: Queue,
        type: str,
        params: dict[str, Any],
        now: datetime,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> Job:
        if not type or len(type) > 64:
            raise ValidationFailed(errors=[FieldError("type", "invalid", "1 to 64 characters.")])
        return cls(
            id=id,
            workspace_id=workspace_id,
            queue=queue,
            type=type,
            status=JobStatus.QUEUED,
            params=params,
            progress=Progress(),
            created_at=now,
            updated_at=now,
            max_attempts=max_attempts,
        )


class JobNotFound(NotFound):
    code = "job_not_found"
    title = "No such job"


class JobAlreadyFinished(Conflict):
    code = "job_already_finished"
    title = "The job has already finished"


class JobQueued(Event, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "job.queued"
    version: ClassVar[int] = 1
    aggregate_type: ClassVar[str] = "job"

    queue: str
    type: str


class JobFinished(Event, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "job.finished"
    version: ClassVar[int] = 1
    aggregate_type: ClassVar[str] = "job"

    status: str
    error: str | None = None
    job_id: UUID | None = None
