"""Invites of the unit of work's workspace (row-level security scopes every statement)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.tables import invites
from scaliyo.application.identity.ports import InviteRecord
from scaliyo.domain.identity.roles import WorkspaceRole
from scaliyo.domain.shared.ids import UserId, WorkspaceId

_OPEN = (invites.c.accepted_at.is_(None), invites.c.revoked_at.is_(None))


def invite_from_row(row: Row) -> InviteRecord:
    return InviteRecord(
        id=row.id,
        workspace_id=WorkspaceId(row.workspace_id),
        email=row.email,
        role=WorkspaceRole(row.role),
        invited_by=None if row.invited_by is None else UserId(row.invited_by),
        created_at=row.created_at,
        expires_at=row.expires_at,
        accepted_at=row.accepted_at,
        revoked_at=row.revoked_at,
    )


class SqlInviteRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, invite: InviteRecord, *, token_hash: str) -> None:
        await self._connection.execute(
            insert(invites).values(
                id=invite.id,
                workspace_id=invite.workspace_id,
                email=invite.email,
                role=invite.role.value,
                token_hash=token_hash,
                invited_by=invite.invited_by,
                created_at=invite.created_at,
                expires_at=invite.expires_at,
            )
        )

    async def get(self, invite_id: UUID) -> InviteRecord | None:
        row = (
            await self._connection.execute(select(invites).where(invites.c.id == invite_id))
        ).first()
        return None if row is None else invite_from_row(row)

    async def pending_for(self, email: str, now: datetime) -> InviteRecord | None:
        row = (
            await self._connection.execute(
                select(invites)
                .where(invites.c.email == email, invites.c.expires_at > now, *_OPEN)
                .order_by(invites.c.id.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else invite_from_row(row)

    async def list_open(self, *, limit: int, before: UUID | None) -> list[InviteRecord]:
        query = select(invites).where(*_OPEN).order_by(invites.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(invites.c.id < before)
        return [invite_from_row(row) for row in await self._connection.execute(query)]

    async def count_pending(self, now: datetime) -> int:
        count = await self._connection.scalar(
            select(func.count()).select_from(invites).where(invites.c.expires_at > now, *_OPEN)
        )
        return int(count or 0)

    async def revoke(self, invite_id: UUID, now: datetime) -> None:
        await self._connection.execute(
            update(invites).where(invites.c.id == invite_id, *_OPEN).values(revoked_at=now)
        )

    async def mark_accepted(self, invite_id: UUID, now: datetime) -> bool:
        accepted = await self._connection.scalar(
            update(invites)
            .where(invites.c.id == invite_id, invites.c.expires_at > now, *_OPEN)
            .values(accepted_at=now)
            .returning(invites.c.id)
        )
        return accepted is not None
