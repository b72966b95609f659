"""An in-memory world for the authentication handlers: the shared fakes plus sessions, single-use
tokens, an attempt limiter and an account audit, and a bus over them."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from scaliyo.application.bus import (
    ANONYMOUS,
    OPERATOR,
    Actor,
    ActorKind,
    Bus,
    Context,
    default_middleware,
)
from scaliyo.application.identity.auth_handlers import auth_handlers
from scaliyo.application.identity.auth_ports import AuthLimits, AuthServices, AuthTokenRecord
from scaliyo.application.identity.ports import SessionHolder, SessionRecord, UserRecord
from scaliyo.application.identity.services import AppLinks, IdentityServices
from scaliyo.application.identity.workspace_ports import StarterSeats
from scaliyo.application.shared.audit import AuditEntry
from scaliyo.domain.identity import lifetimes
from scaliyo.domain.identity.roles import PlatformRole
from scaliyo.domain.identity.sessions import Session
from scaliyo.domain.shared.ids import WorkspaceId
from tests.unit.fakes import (
    FakeDirectory,
    FakeMailer,
    FakeTokens,
    FakeUnitOfWork,
    FixedClock,
    InMemoryStore,
    SequentialIds,
    _Users,
)

COMMON_PASSWORDS = frozenset({"password123", "qwertyuiop12"})
PASSWORD = "correct horse battery"


@dataclass
class AuthData:
    sessions: dict[UUID, Session] = field(default_factory=dict)
    tokens: dict[str, AuthTokenRecord] = field(default_factory=dict)  # by digest


class RehashingHasher:
    """``plain:`` hashes; ``old:`` ones verify too but need a rehash (older parameters)."""

    def __init__(self) -> None:
        self.dummy_verifications = 0

    def hash(self, password: str) -> str:
        return "plain:" + password

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash in {"plain:" + password, "old:" + password}

    def needs_rehash(self, password_hash: str) -> bool:
        return password_hash.startswith("old:")

    def dummy_verify(self) -> None:
        self.dummy_verifications += 1


class _AuthUsers(_Users):
    async def add_if_absent(self, user: UserRecord) -> bool:
        if any(u.email == user.email for u in self._data.users.values()):
            return False
        self._data.users[user.id] = user
        return True

    async def confirm_email(self, user_id, now) -> None:
        user = self._data.users[user_id]
        if user.email_confirmed_at is None:
            user.email_confirmed_at = now

    async def set_password_hash(self, user_id, password_hash) -> None:
        self._data.users[user_id].password_hash = password_hash


def _live(session: Session, now: datetime) -> bool:
    return (
        session.revoked_at is None
        and session.expires_at > now
        and session.last_seen_at > now - lifetimes.SESSION_IDLE
    )


class _AuthSessions:
    def __init__(self, uow: AuthUnitOfWorkFake) -> None:
        self._uow = uow

    @property
    def _sessions(self) -> dict[UUID, Session]:
        return self._uow.auth.sessions

    async def set_current_workspace(self, session_id, user_id, workspace_id) -> None:
        session = self._sessions[session_id]
        assert session.user_id == user_id
        session.current_workspace_id = workspace_id

    async def add(self, session: Session, *, token_hash: str, csrf_hash: str) -> None:
        self._sessions[session.id] = session
        self._uow.auth_hashes[session.id] = (token_hash, csrf_hash)

    async def list_active(self, user_id, now, *, limit, before):
        rows = sorted(
            (s for s in self._sessions.values() if s.user_id == user_id and _live(s, now)),
            key=lambda s: s.id,
            reverse=True,
        )
        return [s for s in rows if before is None or s.id < before][:limit]

    async def revoke(self, session_id, user_id, now) -> bool:
        session = self._sessions.get(session_id)
        if session is None or session.user_id != user_id or session.revoked_at is not None:
            return False
        session.revoked_at = now
        return True

    async def revoke_all(self, user_id, now, *, except_id=None) -> int:
        count = 0
        for session in self._sessions.values():
            if (
                session.user_id == user_id
                and session.revoked_at is None
                and session.id != except_id
            ):
                session.revoked_at = now
                count += 1
        return count


class _AuthTokens:
    def __init__(self, uow: AuthUnitOfWorkFake) -> None:
        self._uow = uow

    @property
    def _tokens(self) -> dict[str, AuthTokenRecord]:
        return self._uow.auth.tokens

    async def add(self, token: AuthTokenRecord, *, token_hash: str) -> None:
        self._tokens[token_hash] = token

    async def find_usable(self, kind, token_hash, now):
        token = self._tokens.get(token_hash)
        if token is None or token.kind != kind or token.used_at is not None:
            return None
        return token if token.expires_at > now else None

    async def use(self, kind, token_hash, now):
        token = await self.find_usable(kind, token_hash, now)
        if token is None:
            return None
        token.used_at = now
        return token.user_id

    async def retire(self, user_id, kind, now) -> int:
        retired = [
            t
            for t in self._tokens.values()
            if t.user_id == user_id and t.kind == kind and t.used_at is None
        ]
        for token in retired:
            token.used_at = now
        return len(retired)


class AuthUnitOfWorkFake(FakeUnitOfWork):
    def __init__(self, store: InMemoryStore, workspace_id: WorkspaceId | None) -> None:
        super().__init__(store, workspace_id)
        self.auth: AuthData = copy.deepcopy(store.auth)  # type: ignore[attr-defined]
        self.auth_hashes: dict[UUID, tuple[str, str]] = {}
        self.users = _AuthUsers(self)
        self.sessions = _AuthSessions(self)
        self.auth_tokens = _AuthTokens(self)

    async def commit(self) -> None:
        await super().commit()
        self.store.auth = self.auth  # type: ignore[attr-defined]
        self.store.session_hashes.update(self.auth_hashes)  # type: ignore[attr-defined]
        self.auth = copy.deepcopy(self.auth)


class AuthDirectory(FakeDirectory):
    async def account(self, user_id):
        return copy.deepcopy(self._store.identity.users.get(user_id))

    async def account_by_email(self, email):
        found = next((u for u in self._store.identity.users.values() if u.email == email), None)
        return copy.deepcopy(found)

    async def session_holder(self, token_hash):
        hashes = self._store.session_hashes  # type: ignore[attr-defined]
        for session_id, (digest, csrf_hash) in hashes.items():
            if digest == token_hash:
                session = copy.deepcopy(self._store.auth.sessions[session_id])  # type: ignore[attr-defined]
                return SessionHolder(
                    record=SessionRecord(session=session, csrf_hash=csrf_hash),
                    user=await self.account(session.user_id),
                    workspaces=await self.workspaces_of(session.user_id),
                )
        return None


class MemoryActivity:
    def __init__(self) -> None:
        self.sessions_seen: list[UUID] = []
        self.keys_used: list[UUID] = []

    async def session_seen(self, session_id, now) -> None:
        self.sessions_seen.append(session_id)

    async def api_key_used(self, workspace_id, key_row_id, now) -> None:
        self.keys_used.append(key_row_id)


class MemoryLimiter:
    """Sliding windows on the world's clock."""

    def __init__(self, clock: FixedClock) -> None:
        self._clock = clock
        self.attempts: dict[str, list[datetime]] = {}

    def _in_window(self, bucket: str, window: timedelta) -> list[datetime]:
        now = self._clock.now()
        return sorted(at for at in self.attempts.get(bucket, []) if at > now - window)

    async def retry_after(self, bucket, limit, window):
        recent = self._in_window(bucket, window)
        if len(recent) < limit:
            return None
        leaving = recent[len(recent) - limit]
        return max(1, int((leaving + window - self._clock.now()).total_seconds()))

    async def record(self, bucket) -> None:
        self.attempts.setdefault(bucket, []).append(self._clock.now())

    async def hit(self, bucket, limit, window):
        wait = await self.retry_after(bucket, limit, window)
        if wait is None:
            await self.record(bucket)
        return wait

    async def clear(self, bucket) -> None:
        self.attempts.pop(bucket, None)


class MemoryAudit:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    async def record(self, entry: AuditEntry) -> None:
        self.entries.append(entry)


class FailingMailer(FakeMailer):
    async def send(self, email) -> None:
        raise ConnectionError("the mail server is down")


@dataclass
class AuthWorld:
    store: InMemoryStore = field(default_factory=InMemoryStore)
    clock: FixedClock = field(default_factory=FixedClock)
    ids: SequentialIds = field(default_factory=SequentialIds)
    mailer: FakeMailer = field(default_factory=FakeMailer)
    tokens: FakeTokens = field(default_factory=FakeTokens)
    hasher: RehashingHasher = field(default_factory=RehashingHasher)
    audit: MemoryAudit = field(default_factory=MemoryAudit)
    limits: AuthLimits = field(default_factory=AuthLimits)

    def __post_init__(self) -> None:
        self.store.auth = AuthData()  # type: ignore[attr-defined]
        self.store.session_hashes = {}  # type: ignore[attr-defined]
        self.limiter = MemoryLimiter(self.clock)

    def bus(self) -> Bus:
        directory = AuthDirectory(self.store)
        services = IdentityServices(
            tokens=self.tokens,
            mailer=self.mailer,
            hasher=self.hasher,
            directory=directory,
            seats=StarterSeats(),
            common_passwords=COMMON_PASSWORDS,
            links=AppLinks("http://app.test"),
        )
        auth = AuthServices(
            directory=directory, limiter=self.limiter, audit=self.audit, limits=self.limits
        )
        handlers = auth_handlers(clock=self.clock, ids=self.ids, services=services, auth=auth)
        store = self.store

        @asynccontextmanager
        async def factory(workspace_id) -> AsyncIterator[AuthUnitOfWorkFake]:
            yield AuthUnitOfWorkFake(store, workspace_id)

        return Bus(handlers, factory, default_middleware())

    # --- state -------------------------------------------------------------------------------

    @property
    def users(self) -> dict:
        return self.store.identity.users

    def user_by_email(self, email: str) -> UserRecord:
        return next(u for u in self.users.values() if u.email == email)

    @property
    def sessions(self) -> dict[UUID, Session]:
        return self.store.auth.sessions  # type: ignore[attr-defined]

    def add_user(
        self, email: str, *, password_hash: str = "plain:" + PASSWORD, confirmed: bool = True
    ) -> UserRecord:
        user = UserRecord(
            id=self.ids.new(),  # type: ignore[arg-type]
            email=email,
            password_hash=password_hash,
            platform_role=PlatformRole.CLIENT,
            is_super_admin=False,
            email_confirmed_at=self.clock.now() if confirmed else None,
            last_workspace_id=None,
            created_at=self.clock.now(),
        )
        self.users[user.id] = user
        return user

    def mail_token(self, to: str, kind: str) -> str:
        label = {"confirmation": "Confirmation token", "password_reset": "Reset token"}[kind]
        mail = [m for m in self.mailer.sent if m.to == to and m.kind == kind][-1]
        line = next(line for line in mail.text.splitlines() if line.startswith(f"{label}: "))
        return line.removeprefix(f"{label}: ")

    # --- contexts ------------------------------------------------------------------------------

    def anonymous(self, ip: str = "203.0.113.1") -> Context:
        return Context(request_id="test", actor=ANONYMOUS, extras={"ip": ip})

    def operator(self) -> Context:
        return Context(request_id="test", actor=OPERATOR)

    def signed_in(self, session: Session, kind: ActorKind = ActorKind.USER) -> Context:
        extras = {"ip": "203.0.113.1"}
        if kind is ActorKind.USER:
            extras["session_id"] = session.id  # type: ignore[assignment]
        return Context(
            request_id="test",
            actor=Actor(kind, id=session.user_id, workspace_role="owner", platform_role="CLIENT"),
            extras=extras,
        )
