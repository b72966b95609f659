"""Identity set-up for integration tests: users, memberships and sessions written by the
superuser, and a bus with the identity handlers on the real adapters."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

from dishka import Provider, Scope, provide
from litestar import Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.clock import SystemClock
from scaliyo.adapters.crypto.passwords import Argon2PasswordHasher
from scaliyo.adapters.crypto.tokens import RandomTokens
from scaliyo.adapters.ids import UuidV7Factory, new_id
from scaliyo.adapters.persistence.account_directory import SqlAccountDirectory
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import unit_of_work_factory
from scaliyo.application.bus import Actor, ActorKind, Bus, Context, default_middleware
from scaliyo.application.identity.handlers import WorkspaceNotFound
from scaliyo.application.identity.security import PasswordHasher, SystemEmail, SystemMailer
from scaliyo.application.identity.services import AppLinks, IdentityServices
from scaliyo.application.identity.workspace_ports import SeatPolicy
from scaliyo.application.registry import build_handlers
from scaliyo.application.shared.ports import Clock
from scaliyo.domain.shared.ids import UserId, WorkspaceId
from scaliyo.entrypoints.http.auth import Principal, RequestAuthenticator, Unauthenticated
from tests.factories import insert_workspace

HASHER = Argon2PasswordHasher(fast_for_tests=True)


class MemoryMailer:
    def __init__(self) -> None:
        self.sent: list[SystemEmail] = []

    async def send(self, email: SystemEmail) -> None:
        self.sent.append(email)

    def invite_token(self, to: str) -> str:
        mail = [m for m in self.sent if m.to == to and m.kind == "invite"][-1]
        return token_in(mail.text)


def token_in(text_body: str) -> str:
    line = next(line for line in text_body.splitlines() if line.startswith("Invite token: "))
    return line.removeprefix("Invite token: ").strip()


def identity_bus(
    database: Database,
    *,
    seats: SeatPolicy,
    mailer: MemoryMailer | None = None,
    clock: Clock | None = None,
) -> Bus:
    services = IdentityServices(
        tokens=RandomTokens(),
        mailer=mailer or MemoryMailer(),
        hasher=HASHER,
        directory=SqlAccountDirectory(database.system),
        seats=seats,
        common_passwords=frozenset({"password123"}),
        links=AppLinks("http://app.example.com"),
    )
    return Bus(
        build_handlers(clock=clock or SystemClock(), ids=UuidV7Factory(), identity=services),
        unit_of_work_factory(database.app),
        default_middleware(),
    )


async def insert_user(
    engine: AsyncEngine, email: str | None = None, *, password: str | None = None
) -> UUID:
    user_id = new_id()
    email = email or f"user-{user_id.hex[-12:]}@example.com"
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO users (id, email, password_hash, email_confirmed_at) "
                "VALUES (:id, :email, :hash, now())"
            ),
            {"id": user_id, "email": email, "hash": HASHER.hash(password) if password else None},
        )
    return user_id


async def insert_member(engine: AsyncEngine, workspace_id: UUID, user_id: UUID, role: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO memberships (workspace_id, user_id, role) VALUES (:ws, :user, :role)"
            ),
            {"ws": workspace_id, "user": user_id, "role": role},
        )


async def insert_team(engine: AsyncEngine, name: str, *roles: str) -> tuple[UUID, dict[str, UUID]]:
    """A workspace with one member per role (emails ``<role>-<hex>@example.com``)."""
    workspace_id = await insert_workspace(engine, name)
    users: dict[str, UUID] = {}
    for role in roles:
        users[role] = await insert_user(engine, f"{role}-{new_id().hex[-12:]}@example.com")
        await insert_member(engine, workspace_id, users[role], role)
    return workspace_id, users


async def insert_session(engine: AsyncEngine, user_id: UUID, workspace_id: UUID | None) -> UUID:
    session_id = new_id()
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO sessions (id, user_id, token_hash, csrf_hash, current_workspace_id, "
                "expires_at) VALUES (:id, :user, :token, :csrf, :ws, :expires)"
            ),
            {
                "id": session_id,
                "user": user_id,
                "token": hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
                "csrf": hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
                "ws": workspace_id,
                "expires": now + timedelta(days=30),
            },
        )
    return session_id


async def role_of(engine: AsyncEngine, workspace_id: UUID, user_id: UUID) -> str | None:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT role FROM memberships WHERE workspace_id = :ws AND user_id = :user"),
                {"ws": workspace_id, "user": user_id},
            )
        ).scalar()


def as_user(
    user_id: UUID,
    workspace_id: UUID | None,
    role: str | None,
    *,
    session_id: UUID | None = None,
    kind: ActorKind = ActorKind.USER,
) -> Context:
    return Context(
        request_id=f"test-{new_id().hex[-8:]}",
        actor=Actor(kind, id=user_id, workspace_role=role, platform_role="CLIENT"),
        workspace_id=workspace_id,  # type: ignore[arg-type]
        extras={} if session_id is None else {"session_id": session_id},
    )


# --- HTTP -----------------------------------------------------------------------------------


class HeaderUserAuthenticator:
    """A test stand-in for sign-in: ``X-Test-User`` names the user, ``X-Workspace-Id`` the
    workspace; the role is the user's real membership (read through the account directory)."""

    def __init__(self, directory: SqlAccountDirectory) -> None:
        self._directory = directory

    async def authenticate(self, request: Request, request_id: str) -> Principal:
        raw_user = request.headers.get("X-Test-User")
        raw_ws = request.headers.get("X-Workspace-Id")
        if not raw_user or not raw_ws:
            raise Unauthenticated("test: send X-Test-User and X-Workspace-Id")
        user_id, workspace_id = UUID(raw_user), WorkspaceId(UUID(raw_ws))
        role = await self._directory.role_in(UserId(user_id), workspace_id)
        if role is None:
            raise WorkspaceNotFound()
        return Principal(
            actor=Actor(ActorKind.USER, id=user_id, workspace_role=role.value),
            workspace_id=workspace_id,
        )


class IdentityOverrides(Provider):
    """Overrides for ``create_app``: seats, an in-memory mailer, a fast hasher and, when
    ``header_auth``, the header authenticator above."""

    scope = Scope.APP

    def __init__(self, *, seats: SeatPolicy, mailer: MemoryMailer, header_auth: bool) -> None:
        super().__init__()
        self._seats = seats
        self._mailer = mailer
        if header_auth:
            self.provide(self._authenticator, provides=RequestAuthenticator)

    @provide
    def seats(self) -> SeatPolicy:
        return self._seats

    @provide
    def mailer(self) -> SystemMailer:
        return self._mailer

    @provide
    def hasher(self) -> PasswordHasher:
        return HASHER

    def _authenticator(self, database: Database) -> RequestAuthenticator:
        return HeaderUserAuthenticator(SqlAccountDirectory(database.system))
