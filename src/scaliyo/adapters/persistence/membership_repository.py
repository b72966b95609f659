"""Memberships of the unit of work's workspace (row-level security scopes every statement).

Emails come from ``users`` (no tenant policy): joined to a membership row, only the workspace's
own members' addresses are ever read.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.tables import memberships, users
from scaliyo.application.identity.ports import MembershipRecord
from scaliyo.domain.identity.roles import WorkspaceRole
from scaliyo.domain.shared.ids import UserId, WorkspaceId

_WITH_EMAIL = select(memberships, users.c.email).join(users, users.c.id == memberships.c.user_id)


def membership_from_row(row: Row) -> MembershipRecord:
    return MembershipRecord(
        workspace_id=WorkspaceId(row.workspace_id),
        user_id=UserId(row.user_id),
        role=WorkspaceRole(row.role),
        created_at=row.created_at,
        email=getattr(row, "email", None),
    )


class SqlMembershipRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, membership: MembershipRecord) -> None:
        await self._connection.execute(
            insert(memberships).values(
                workspace_id=membership.workspace_id,
                user_id=membership.user_id,
                role=membership.role.value,
                created_at=membership.created_at,
            )
        )

    async def get(self, user_id: UserId) -> MembershipRecord | None:
        row = (
            await self._connection.execute(_WITH_EMAIL.where(memberships.c.user_id == user_id))
        ).first()
        return None if row is None else membership_from_row(row)

    async def list(self, *, limit: int, after: UUID | None) -> list[MembershipRecord]:
        query = _WITH_EMAIL.order_by(memberships.c.user_id).limit(limit)
        if after is not None:
            query = query.where(memberships.c.user_id > after)
        return [membership_from_row(row) for row in await self._connection.execute(query)]

    async def count(self) -> int:
        return int(
            await self._connection.scalar(select(func.count()).select_from(memberships)) or 0
        )

    async def count_owners(self) -> int:
        count = await self._connection.scalar(
            select(func.count())
            .select_from(memberships)
            .where(memberships.c.role == WorkspaceRole.OWNER.value)
        )
        return int(count or 0)

    async def change_role(self, user_id: UserId, role: WorkspaceRole) -> None:
        await self._connection.execute(
            update(memberships).where(memberships.c.user_id == user_id).values(role=role.value)
        )

    async def remove(self, user_id: UserId) -> None:
        await self._connection.execute(delete(memberships).where(memberships.c.user_id == user_id))

    async def email_is_member(self, email: str) -> bool:
        found = await self._connection.scalar(
            select(memberships.c.user_id)
            .join(users, users.c.id == memberships.c.user_id)
            .where(users.c.email == email)
            .limit(1)
        )
        return found is not None
