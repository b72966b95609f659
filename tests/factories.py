"""Test data factories."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.ids import new_id


async def insert_workspace(engine: AsyncEngine, name: str = "Acme") -> UUID:
    """A workspace row written by the superuser (set-up only; the app path is tested apart)."""
    workspace_id = new_id()
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO workspaces (id, name, created_at) VALUES (:id, :name, :at)"),
            {"id": workspace_id, "name": name, "at": datetime.now(UTC)},
        )
    return workspace_id


# --- identity: accounts, sessions and API keys written by the superuser ----------------------
# (set-up only: sign-up, sign-in and key creation are tested through the API)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()  # RandomTokens.digest


@dataclass(frozen=True)
class Account:
    user_id: UUID
    email: str
    workspace_id: UUID


@dataclass(frozen=True)
class SessionCredentials:
    """A signed-in session: its cookie and CSRF token as request headers."""

    session_id: UUID
    user_id: UUID
    workspace_id: UUID | None
    token: str
    csrf_token: str

    def headers(self, *, csrf: bool = True) -> dict[str, str]:
        headers = {"Cookie": f"scaliyo_session={self.token}"}
        if csrf:
            headers["X-CSRF-Token"] = self.csrf_token
        return headers


@dataclass(frozen=True)
class ApiKeyCredentials:
    key_row_id: UUID
    workspace_id: UUID
    user_id: UUID
    key: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def insert_account(
    engine: AsyncEngine,
    *,
    email: str | None = None,
    password_hash: str | None = None,
    role: str = "owner",
    workspace_id: UUID | None = None,
    workspace_name: str = "Acme",
    confirmed: bool = True,
) -> Account:
    """A user who is ``role`` of a workspace (a new one unless ``workspace_id`` is given)."""
    workspace_id = workspace_id or await insert_workspace(engine, workspace_name)
    user_id = new_id()
    email = email or f"user-{user_id.hex[-12:]}@example.com"
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO users (id, email, password_hash, email_confirmed_at, "
                "last_workspace_id) VALUES (:id, :email, :hash, :confirmed, :ws)"
            ),
            {
                "id": user_id,
                "email": email,
                "hash": password_hash,
                "confirmed": datetime.now(UTC) if confirmed else None,
                "ws": workspace_id,
            },
        )
        await conn.execute(
            text("INSERT INTO memberships (workspace_id, user_id, role) VALUES (:ws, :u, :r)"),
            {"ws": workspace_id, "u": user_id, "r": role},
        )
    return Account(user_id=user_id, email=email, workspace_id=workspace_id)


async def insert_signed_in_session(
    engine: AsyncEngine,
    user_id: UUID,
    workspace_id: UUID | None,
    *,
    created_at: datetime | None = None,
    last_seen_at: datetime | None = None,
) -> SessionCredentials:
    session_id = new_id()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    created = created_at or datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO sessions (id, user_id, token_hash, csrf_hash, current_workspace_id, "
                "created_at, last_seen_at, expires_at) "
                "VALUES (:id, :user, :token, :csrf, :ws, :created, :seen, :expires)"
            ),
            {
                "id": session_id,
                "user": user_id,
                "token": _digest(token),
                "csrf": _digest(csrf),
                "ws": workspace_id,
                "created": created,
                "seen": last_seen_at or created,
                "expires": created + timedelta(days=30),
            },
        )
    return SessionCredentials(
        session_id=session_id,
        user_id=user_id,
        workspace_id=workspace_id,
        token=token,
        csrf_token=csrf,
    )


async def insert_api_key(
    engine: AsyncEngine, workspace_id: UUID, user_id: UUID, *, name: str = "test key"
) -> ApiKeyCredentials:
    key_row_id = new_id()
    key_id, secret = secrets.token_hex(8), secrets.token_hex(32)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO api_keys (id, workspace_id, key_id, secret_hash, name, created_by) "
                "VALUES (:id, :ws, :key_id, :hash, :name, :user)"
            ),
            {
                "id": key_row_id,
                "ws": workspace_id,
                "key_id": key_id,
                "hash": _digest(secret),
                "name": name,
                "user": user_id,
            },
        )
    return ApiKeyCredentials(
        key_row_id=key_row_id,
        workspace_id=workspace_id,
        user_id=user_id,
        key=f"sk_{key_id}_{secret}",
    )


async def signed_in_owner(
    engine: AsyncEngine, workspace_name: str = "Acme"
) -> tuple[Account, SessionCredentials]:
    """A confirmed owner of a new workspace with a live session."""
    account = await insert_account(engine, workspace_name=workspace_name)
    session = await insert_signed_in_session(engine, account.user_id, account.workspace_id)
    return account, session


async def owner_api_key(engine: AsyncEngine, workspace_id: UUID) -> ApiKeyCredentials:
    """An API key of a new owner of an existing workspace."""
    account = await insert_account(engine, workspace_id=workspace_id)
    return await insert_api_key(engine, workspace_id, account.user_id)
