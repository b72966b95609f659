"""In-memory fakes of the ports, for driving handlers through the bus without I/O."""

from __future__ import annotations

import copy
import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import uuid_utils

from scaliyo.application.identity.ports import (
    ApiKeyRecord,
    InviteRecord,
    KeyHolder,
    MembershipRecord,
    UserRecord,
    WorkspaceMembership,
)
from scaliyo.application.identity.security import SystemEmail
from scaliyo.application.shared.audit import AuditEntry
from scaliyo.domain.identity.onboarding import Onboarding
from scaliyo.domain.identity.roles import WorkspaceRole
from scaliyo.domain.identity.workspace import Workspace
from scaliyo.domain.jobs.job import Job
from scaliyo.domain.shared.events import Event
from scaliyo.domain.shared.ids import JobId, WorkspaceId
from tests.unit.billing_fakes import attach_billing, commit_billing
from tests.unit.lead_fakes import InMemoryPipelines


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


@dataclass
class IdentityData:
    """Identity rows. A unit of work edits a copy and swaps it in at commit."""

    users: dict[UUID, UserRecord] = field(default_factory=dict)
    # session id -> (user id, current workspace id)
    sessions: dict[UUID, tuple[UUID, UUID | None]] = field(default_factory=dict)
    memberships: dict[tuple[UUID, UUID], MembershipRecord] = field(default_factory=dict)
    invites: dict[UUID, tuple[InviteRecord, str]] = field(default_factory=dict)
    api_keys: dict[UUID, ApiKeyRecord] = field(default_factory=dict)
    onboarding: dict[UUID, Onboarding] = field(default_factory=dict)


class InMemoryStore:
    """What the fake database holds; committed state only."""

    def __init__(self) -> None:
        self.workspaces: dict[UUID, Workspace] = {}
        self.jobs: dict[UUID, Job] = {}
        self.outbox: list[Event] = []
        self.audit: list[AuditEntry] = []
        self.identity = IdentityData()


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

    async def lock(self, workspace_id: WorkspaceId) -> Workspace | None:
        return await self.get(workspace_id)

    async def rename(self, workspace_id: WorkspaceId, name: str) -> None:
        workspace = await self.get(workspace_id)
        if workspace is not None:
            renamed = copy.copy(workspace)
            renamed.name = name
            self._uow.pending_workspaces[workspace_id] = renamed


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


class _Tenant:
    """Base of the identity fakes: rows of the unit of work's workspace only (like RLS)."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    @property
    def _data(self) -> IdentityData:
        return self._uow.identity

    @property
    def _ws(self) -> UUID | None:
        return self._uow.workspace_id


class _Memberships(_Tenant):
    def _mine(self) -> list[MembershipRecord]:
        return [m for (ws, _), m in self._data.memberships.items() if ws == self._ws]

    def _with_email(self, m: MembershipRecord) -> MembershipRecord:
        user = self._data.users.get(m.user_id)
        return MembershipRecord(
            workspace_id=m.workspace_id,
            user_id=m.user_id,
            role=m.role,
            created_at=m.created_at,
            email=None if user is None else user.email,
        )

    async def add(self, membership: MembershipRecord) -> None:
        assert membership.workspace_id == self._ws, "row-level security refuses the row"
        self._data.memberships[(membership.workspace_id, membership.user_id)] = membership

    async def get(self, user_id):
        m = self._data.memberships.get((self._ws, user_id)) if self._ws else None
        return None if m is None else self._with_email(m)

    async def list(self, *, limit, after):
        rows = sorted(self._mine(), key=lambda m: m.user_id)
        rows = [m for m in rows if after is None or m.user_id > after]
        return [self._with_email(m) for m in rows[:limit]]

    async def count(self) -> int:
        return len(self._mine())

    async def count_owners(self) -> int:
        return sum(1 for m in self._mine() if m.role is WorkspaceRole.OWNER)

    async def change_role(self, user_id, role) -> None:
        key = (self._ws, user_id)
        if key in self._data.memberships:
            self._data.memberships[key].role = role

    async def remove(self, user_id) -> None:
        self._data.memberships.pop((self._ws, user_id), None)

    async def email_is_member(self, email: str) -> bool:
        return any(
            (u := self._data.users.get(m.user_id)) is not None and u.email == email
            for m in self._mine()
        )


def _open(invite: InviteRecord) -> bool:
    return invite.accepted_at is None and invite.revoked_at is None


class _Invites(_Tenant):
    def _mine(self) -> list[InviteRecord]:
        return [i for i, _ in self._data.invites.values() if i.workspace_id == self._ws]

    async def add(self, invite: InviteRecord, *, token_hash: str) -> None:
        assert invite.workspace_id == self._ws, "row-level security refuses the row"
        self._data.invites[invite.id] = (invite, token_hash)

    async def get(self, invite_id):
        return next((i for i in self._mine() if i.id == invite_id), None)

    async def pending_for(self, email, now):
        found = [i for i in self._mine() if i.email == email and _open(i) and i.expires_at > now]
        return max(found, key=lambda i: i.id, default=None)

    async def list_open(self, *, limit, before):
        rows = sorted((i for i in self._mine() if _open(i)), key=lambda i: i.id, reverse=True)
        return [i for i in rows if before is None or i.id < before][:limit]

    async def count_pending(self, now) -> int:
        return sum(1 for i in self._mine() if _open(i) and i.expires_at > now)

    async def revoke(self, invite_id, now) -> None:
        invite = await self.get(invite_id)
        if invite is not None and _open(invite):
            invite.revoked_at = now

    async def mark_accepted(self, invite_id, now) -> bool:
        invite = await self.get(invite_id)
        if invite is None or not _open(invite) or invite.expires_at <= now:
            return False
        invite.accepted_at = now
        return True


class _ApiKeys(_Tenant):
    def _mine(self) -> list[ApiKeyRecord]:
        return [k for k in self._data.api_keys.values() if k.workspace_id == self._ws]

    async def add(self, key: ApiKeyRecord) -> None:
        assert key.workspace_id == self._ws, "row-level security refuses the row"
        self._data.api_keys[key.id] = key

    async def get(self, key_row_id):
        return next((k for k in self._mine() if k.id == key_row_id), None)

    async def list_active(self, *, limit, before):
        rows = sorted(
            (k for k in self._mine() if k.revoked_at is None), key=lambda k: k.id, reverse=True
        )
        return [k for k in rows if before is None or k.id < before][:limit]

    async def revoke(self, key_row_id, now) -> bool:
        key = await self.get(key_row_id)
        if key is None or key.revoked_at is not None:
            return False
        key.revoked_at = now
        return True

    async def revoke_created_by(self, user_id, now) -> int:
        keys = [k for k in self._mine() if k.created_by == user_id and k.revoked_at is None]
        for key in keys:
            key.revoked_at = now
        return len(keys)


class _Onboarding(_Tenant):
    async def get(self) -> Onboarding:
        return copy.deepcopy(self._data.onboarding.get(self._ws)) or Onboarding()

    async def save(self, workspace_id, onboarding, now) -> None:
        assert workspace_id == self._ws, "row-level security refuses the row"
        self._data.onboarding[workspace_id] = copy.deepcopy(onboarding)


class _Users(_Tenant):
    async def get(self, user_id):
        return self._data.users.get(user_id)

    async def by_email(self, email):
        return next((u for u in self._data.users.values() if u.email == email), None)

    async def add(self, user: UserRecord) -> None:
        assert all(u.email != user.email for u in self._data.users.values()), "unique email"
        self._data.users[user.id] = user

    async def set_last_workspace(self, user_id, workspace_id) -> None:
        self._data.users[user_id].last_workspace_id = workspace_id


class _Sessions(_Tenant):
    async def set_current_workspace(self, session_id, user_id, workspace_id) -> None:
        owner, _ = self._data.sessions[session_id]
        assert owner == user_id
        self._data.sessions[session_id] = (user_id, workspace_id)


class FakeUnitOfWork:
    def __init__(self, store: InMemoryStore, workspace_id: WorkspaceId | None) -> None:
        self.store = store
        self.workspace_id = workspace_id
        self.identity = copy.deepcopy(store.identity)
        self.memberships = _Memberships(self)
        self.invites = _Invites(self)
        self.api_keys = _ApiKeys(self)
        self.onboarding = _Onboarding(self)
        self.users = _Users(self)
        self.sessions = _Sessions(self)
        self.pending_workspaces: dict[UUID, Workspace] = {}
        self.pending_jobs: dict[UUID, Job] = {}
        self.events: list[Event] = []
        self.pending_audit: list[AuditEntry] = []
        self.committed = False
        self.workspaces = _Workspaces(self)
        self.jobs = _Jobs(self)
        self.audit = _Audit(self)
        self.pipeline = InMemoryPipelines()
        attach_billing(self)

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
        self.store.identity = self.identity
        self.identity = copy.deepcopy(self.identity)
        self.pending_workspaces, self.pending_jobs, self.events = {}, {}, []
        self.pending_audit = []
        commit_billing(self)
        self.committed = True


def fake_uow_factory(store: InMemoryStore):
    @asynccontextmanager
    async def factory(workspace_id: WorkspaceId | None) -> AsyncIterator[FakeUnitOfWork]:
        yield FakeUnitOfWork(store, workspace_id)

    return factory


class FakeDirectory:
    """The account directory over the committed store (a platform path sees every workspace)."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def workspaces_of(self, user_id) -> list[WorkspaceMembership]:
        data = self._store.identity
        return [
            WorkspaceMembership(workspace_id=ws, name=self._store.workspaces[ws].name, role=m.role)
            for (ws, user), m in sorted(data.memberships.items(), key=lambda item: item[0][0])
            if user == user_id and ws in self._store.workspaces
        ]

    async def role_in(self, user_id, workspace_id):
        m = self._store.identity.memberships.get((workspace_id, user_id))
        return None if m is None else m.role

    async def key_holder(self, key_id):
        key = next((k for k in self._store.identity.api_keys.values() if k.key_id == key_id), None)
        if key is None:
            return None
        return KeyHolder(
            key=key,
            user=copy.deepcopy(self._store.identity.users.get(key.created_by)),
            role=await self.role_in(key.created_by, key.workspace_id),
        )

    async def invite_by_token_hash(self, token_hash):
        return next(
            (copy.deepcopy(i) for i, h in self._store.identity.invites.values() if h == token_hash),
            None,
        )

    async def session_holder(self, token_hash):
        return None


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[SystemEmail] = []

    async def send(self, email: SystemEmail) -> None:
        self.sent.append(email)


class FakeTokens:
    def new_token(self) -> str:
        return secrets.token_urlsafe(32)

    def digest(self, token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def new_hex(self, length: int) -> str:
        return secrets.token_hex(length)[:length]


class FakeHasher:
    def hash(self, password: str) -> str:
        return "plain:" + password

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == "plain:" + password

    def needs_rehash(self, password_hash: str) -> bool:
        return False

    def dummy_verify(self) -> None:
        return None
