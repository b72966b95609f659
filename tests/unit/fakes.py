"""In-memory fakes of the ports, for driving handlers through the bus without I/O."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from uuid import UUID

import uuid_utils

from scaliyo.application.shared.audit import AuditEntry
from scaliyo.domain.identity.workspace import Workspace
from scaliyo.domain.jobs.job import Job
from scaliyo.domain.shared.events import Event
from scaliyo.domain.shared.ids import JobId, WorkspaceId


class FixedClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.moment = now or datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


class SequentialIds:
    def new(self) -> UUID:
        return UUID(bytes=uuid_utils.uuid7().bytes)


class InMemoryStore:
    """What the fake database holds; committed state only."""

    def __init__(self) -> None:
        self.workspaces: dict[UUID, Workspace] = {}
        self.jobs: dict[UUID, Job] = {}
        self.outbox: list[Event] = []
        self.audit: list[AuditEntry] = []


class _Workspaces:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def add(self, workspace: Workspace) -> None:
        self._uow.pending_workspaces[workspace.id] = workspace

    async def get(self, workspace_id: WorkspaceId) -> Workspace | None:
        if workspace_id != self._uow.workspace_id:  # row-level security, as in PostgreSQL
            return None
        return self._uow.pending_workspaces.get(workspace_id) or self._uow.store.workspaces.get(
            workspace_id
        )


class _Jobs:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    def _visible(self) -> dict[UUID, Job]:
        merged = {**self._uow.store.jobs, **self._uow.pending_jobs}
        return {k: j for k, j in merged.items() if j.workspace_id == self._uow.workspace_id}

    async def add(self, job: Job) -> None:
        self._uow.pending_jobs[job.id] = job

    async def get(self, job_id: JobId) -> Job | None:
        return self._visible().get(job_id)

    async def list(self, *, limit, before, status, queue, type):
        jobs = sorted(self._visible().values(), key=lambda j: j.id, reverse=True)
        jobs = [
            j
            for j in jobs
            if (before is None or j.id < before)
            and (status is None or j.status == status)
            and (queue is None or j.queue == queue)
            and (type is None or j.type == type)
        ]
        return jobs[:limit]


class _Audit:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def record(self, entry: AuditEntry) -> None:
        self._uow.pending_audit.append(entry)


class FakeUnitOfWork:
    def __init__(self, store: InMemoryStore, workspace_id: WorkspaceId | None) -> None:
        self.store = store
        self.workspace_id = workspace_id
        self.pending_workspaces: dict[UUID, Workspace] = {}
        self.pending_jobs: dict[UUID, Job] = {}
        self.events: list[Event] = []
        self.pending_audit: list[AuditEntry] = []
        self.committed = False
        self.workspaces = _Workspaces(self)
        self.jobs = _Jobs(self)
        self.audit = _Audit(self)

    async def scope_to(self, workspace_id: WorkspaceId) -> None:
        assert self.workspace_id in (None, workspace_id)
        self.workspace_id = workspace_id

    def record(self, *events: Event) -> None:
        self.events.extend(events)

    async def commit(self) -> None:
        self.store.workspaces.update(self.pending_workspaces)
        self.store.jobs.update(self.pending_jobs)
        self.store.outbox.extend(self.events)
        self.store.audit.extend(self.pending_audit)
        self.pending_workspaces, self.pending_jobs, self.events = {}, {}, []
        self.pending_audit = []
        self.committed = True


def fake_uow_factory(store: InMemoryStore):
    @asynccontextmanager
    async def factory(workspace_id: WorkspaceId | None) -> AsyncIterator[FakeUnitOfWork]:
        yield FakeUnitOfWork(store, workspace_id)

    return factory
