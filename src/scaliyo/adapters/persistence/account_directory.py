"""The account directory: a named platform path (``scaliyo_system``, BYPASSRLS).

It answers the few questions that must look across workspaces before a tenant is known: a
user's workspaces and role in one, an account by id or address (sign-in), an API key by its key
id, an invite or a session by the hash of its token. Each call is one short read-only
transaction; nothing else uses this role.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.persistence.api_key_repository import api_key_from_row
from scaliyo.adapters.persistence.invite_repository import invite_from_row
from scaliyo.adapters.persistence.session_repository import session_from_row
from scaliyo.adapters.persistence.tables import (
    api_keys,
    invites,
    memberships,
    sessions,
    users,
    workspaces,
)
from scaliyo.adapters.persistence.user_repository import user_from_row
from scaliyo.application.identity.ports import (
    ApiKeyRecord,
    InviteRecord,
    SessionRecord,
    UserRecord,
    WorkspaceMembership,
)
from scaliyo.domain.identity.roles import WorkspaceRole
from scaliyo.domain.shared.ids import UserId, WorkspaceId


class SqlAccountDirectory:
    def __init__(self, system_engine: AsyncEngine) -> None:
        self._engine = system_engine

    async def _rows(self, query: Select) -> list:
        async with self._engine.connect() as connection:
            return list((await connection.execute(query)).all())

    async def account(self, user_id: UserId) -> UserRecord | None:
        rows = await self._rows(select(users).where(users.c.id == user_id))
        return user_from_row(rows[0]) if rows else None

    async def account_by_email(self, email: str) -> UserRecord | None:
        rows = await self._rows(select(users).where(users.c.email == email))
        return user_from_row(rows[0]) if rows else None

    async def workspaces_of(self, user_id: UserId) -> list[WorkspaceMembership]:
        rows = await self._rows(
            select(workspaces.c.id, workspaces.c.name, memberships.c.role)
            .join(memberships, memberships.c.workspace_id == workspaces.c.id)
            .where(memberships.c.user_id == user_id)
            .order_by(workspaces.c.name, workspaces.c.id)
        )
        return [
            WorkspaceMembership(
                workspace_id=WorkspaceId(row.id), name=row.name, role=WorkspaceRole(row.role)
            )
            for row in rows
        ]

    async def role_in(self, user_id: UserId, workspace_id: WorkspaceId) -> WorkspaceRole | None:
        rows = await self._rows(
            select(memberships.c.role).where(
                memberships.c.user_id == user_id, memberships.c.workspace_id == workspace_id
            )
        )
        return WorkspaceRole(rows[0].role) if rows else None

    async def api_key(self, key_id: str) -> ApiKeyRecord | None:
        rows = await self._rows(select(api_keys).where(api_keys.c.key_id == key_id))
        return api_key_from_row(rows[0]) if rows else None

    async def invite_by_token_hash(self, token_hash: str) -> InviteRecord | None:
        rows = await self._rows(select(invites).where(invites.c.token_hash == token_hash))
        return invite_from_row(rows[0]) if rows else None

    async def session_by_token_hash(self, token_hash: str) -> SessionRecord | None:
        rows = await self._rows(select(sessions).where(sessions.c.token_hash == token_hash))
        if not rows:
            return None
        return SessionRecord(session=session_from_row(rows[0]), csrf_hash=rows[0].csrf_hash)
