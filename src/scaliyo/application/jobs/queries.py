from __future__ import annotations

from typing import Any

import msgspec

from scaliyo.application.bus import Query
from scaliyo.application.shared.pagination import DEFAULT_LIMIT
from scaliyo.domain.jobs.job import JobStatus, Queue


class GetJob(Query, frozen=True, kw_only=True):
    job_id: str


class ListJobs(Query, frozen=True, kw_only=True):
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    status: JobStatus | None = None
    queue: Queue | None = None
    type: str | None = None


class ProgressView(msgspec.Struct, kw_only=True, omit_defaults=True):
    processed: int
    total: int | None = None
    percent: float | None = None


class JobView(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    queue: str
    type: str
    status: str
    progress: ProgressView
    attempts: int
    tokens: int
    created_at: str
    updated_at: str
    result: dict[str, Any] | None = None
    error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
