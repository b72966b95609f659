"""Sessions (no tenant policy: a session belongs to a user, not to a workspace).

Only digests of the session and CSRF tokens are stored. Every statement that changes a session
names its user too, so one user's request can never touch another user's session.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.tables import sessions
from scaliyo.domain.identity import lifetimes
from scaliyo.domain.identity.sessions import Session
from scaliyo.domain.shared.ids import UserId, WorkspaceId


def session_from_row(row: Row) -> Session:
    return Session(
        id=row.id,
        user_id=UserId(row.user_id),
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        current_workspace_id=None
        if row.current_workspace_id is None
        else WorkspaceId(row.current_workspace_id),
        revoked_at=row.revoked_at,
        user_agent=row.user_agent,
        ip=row.ip,
    )


class SqlSessionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def set_current_workspace(
        self, session_id: UUID, user_id: UserId, workspace_id: WorkspaceId
    ) -> None:
        await self._connection.execute(
            update(sessions)
            .where(sessions.c.id == session_id, sessions.c.user_id == user_id)
            .values(current_workspace_id=workspace_id)
        )

    async def add(self, session: Session, *, token_hash: str, csrf_hash: str) -> None:
        await self._connection.execute(
            insert(sessions).values(
                id=session.id,
                user_id=session.user_id,
                token_hash=token_hash,
                csrf_hash=csrf_hash,
                current_workspace_id=session.current_workspace_id,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                expires_at=session.expires_at,
                revoked_at=session.revoked_at,
                user_agent=session.user_agent,
                ip=session.ip,
            )
        )

    async def list_active(
        self, user_id: UserId, now: datetime, *, limit: int, before: UUID | None
    ) -> list[Session]:
        query = (
            select(sessions)
            .where(
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
                sessions.c.last_seen_at > now - lifetimes.SESSION_IDLE,
            )
            .order_by(sessions.c.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(sessions.c.id < before)
        return [session_from_row(row) for row in await self._connection.execute(query)]

    async def revoke(self, session_id: UUID, user_id: UserId, now: datetime) -> bool:
        result = await self._connection.execute(
            update(sessions)
            .where(
                sessions.c.id == session_id,
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return bool(result.rowcount)

    async def revoke_all(
        self, user_id: UserId, now: datetime, *, except_id: UUID | None = None
    ) -> int:
        query = (
            update(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        if except_id is not None:
            query = query.where(sessions.c.id != except_id)
        result = await self._connection.execute(query)
        return result.rowcount or 0
