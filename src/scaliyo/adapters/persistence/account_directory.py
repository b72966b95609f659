"""The account directory: a named platform path (``scaliyo_system``, BYPASSRLS).

It answers the few questions that must look across workspaces before a tenant is known: a
user's workspaces and role in one, an account by id or address (sign-in), an invite by the hash
of its token, and what authenticating a request needs: an API key by its key id with its
creator's account and role in the key's workspace, a session by the hash of its token with its
user's account and workspaces — each in one statement, as every request asks it. Each call is
one short read-only transaction; nothing else uses this role.
"""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import Row, Select, bindparam, select
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
    InviteRecord,
    KeyHolder,
    SessionHolder,
    SessionRecord,
    UserRecord,
    WorkspaceMembership,
)
from scaliyo.domain.identity.roles import WorkspaceRole
from scaliyo.domain.shared.ids import UserId, WorkspaceId

# A user's columns beside another table's, by these names (``_user_of`` reads them back).
_USER_COLUMNS = tuple(column.label(f"u_{column.name}") for column in users.c)


def _user_of(row: Row) -> UserRecord | None:
    """The user of a row made with ``_USER_COLUMNS`` (``None`` when the outer join found none)."""
    if row.u_id is None:
        return None
    values = {column.name: getattr(row, f"u_{column.name}") for column in users.c}
    return user_from_row(SimpleNamespace(**values))


_MEMBER = memberships.alias("member")
# An API key, its creator's role in the key's workspace and the creator's account, in one read.
_KEY_HOLDER = (
    select(api_keys, _MEMBER.c.role.label("member_role"), *_USER_COLUMNS)
    .select_from(
        api_keys.outerjoin(
            _MEMBER,
            (_MEMBER.c.user_id == api_keys.c.created_by)
            & (_MEMBER.c.workspace_id == api_keys.c.workspace_id),
        ).outerjoin(users, users.c.id == api_keys.c.created_by)
    )
    .where(api_keys.c.key_id == bindparam("key_id"))
)
# A session, its user's account and one row per workspace of the user (one with no workspace
# when there is none), in the order ``workspaces_of`` gives.
_SESSION_HOLDER = (
    select(
        sessions,
        *_USER_COLUMNS,
        workspaces.c.id.label("ws_id"),
        workspaces.c.name.label("ws_name"),
        memberships.c.role.label("ws_role"),
    )
    .select_from(
        sessions.outerjoin(users, users.c.id == sessions.c.user_id).outerjoin(
            memberships.join(workspaces, workspaces.c.id == memberships.c.workspace_id),
            memberships.c.user_id == sessions.c.user_id,
        )
    )
    .where(sessions.c.token_hash == bindparam("token_hash"))
    .order_by(workspaces.c.name, workspaces.c.id)
)


class SqlAccountDirectory:
    def __init__(self, system_engine: AsyncEngine) -> None:
        self._engine = system_engine

    async def _rows(self, query: Select, **params: object) -> list:
        async with self._engine.connect() as connection:
            return list((await connection.execute(query, params)).all())

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

    async def key_holder(self, key_id: str) -> KeyHolder | None:
        rows = await self._rows(_KEY_HOLDER, key_id=key_id)
        if not rows:
            return None
        row = rows[0]
        return KeyHolder(
            key=api_key_from_row(row),
            user=_user_of(row),
            role=None if row.member_role is None else WorkspaceRole(row.member_role),
        )

    async def session_holder(self, token_hash: str) -> SessionHolder | None:
        rows = await self._rows(_SESSION_HOLDER, token_hash=token_hash)
        if not rows:
            return None
        first = rows[0]
        return SessionHolder(
            record=SessionRecord(session=session_from_row(first), csrf_hash=first.csrf_hash),
            user=_user_of(first),
            workspaces=[
                WorkspaceMembership(
                    workspace_id=WorkspaceId(row.ws_id),
                    name=row.ws_name,
                    role=WorkspaceRole(row.ws_role),
                )
                for row in rows
                if row.ws_id is not None
            ],
        )

    async def invite_by_token_hash(self, token_hash: str) -> InviteRecord | None:
        rows = await self._rows(select(invites).where(invites.c.token_hash == token_hash))
        return invite_from_row(rows[0]) if rows else None
