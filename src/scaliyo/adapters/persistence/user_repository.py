"""Users (no tenant policy: users belong to no workspace). Reached through the tenant unit of
work once the tenant is known; look-ups before that go through the account directory."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.tables import users
from scaliyo.application.identity.ports import UserRecord
from scaliyo.domain.identity.roles import PlatformRole
from scaliyo.domain.shared.ids import UserId, WorkspaceId


def user_from_row(row: Row) -> UserRecord:
    return UserRecord(
        id=UserId(row.id),
        email=row.email,
        password_hash=row.password_hash,
        platform_role=PlatformRole(row.platform_role),
        is_super_admin=row.is_super_admin,
        email_confirmed_at=row.email_confirmed_at,
        last_workspace_id=None
        if row.last_workspace_id is None
        else WorkspaceId(row.last_workspace_id),
        created_at=row.created_at,
    )


class SqlUserRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, user_id: UserId) -> UserRecord | None:
        row = (await self._connection.execute(select(users).where(users.c.id == user_id))).first()
        return None if row is None else user_from_row(row)

    async def by_email(self, email: str) -> UserRecord | None:
        row = (await self._connection.execute(select(users).where(users.c.email == email))).first()
        return None if row is None else user_from_row(row)

    async def add(self, user: UserRecord) -> None:
        await self._connection.execute(insert(users).values(**_values(user)))

    async def add_if_absent(self, user: UserRecord) -> bool:
        """Insert unless the address is taken; one statement, so two racing sign-ups of one
        address make one account and neither fails."""
        inserted = await self._connection.scalar(
            pg_insert(users)
            .values(**_values(user))
            .on_conflict_do_nothing(index_elements=[users.c.email])
            .returning(users.c.id)
        )
        return inserted is not None

    async def confirm_email(self, user_id: UserId, now: datetime) -> None:
        await self._connection.execute(
            update(users)
            .where(users.c.id == user_id, users.c.email_confirmed_at.is_(None))
            .values(email_confirmed_at=now, updated_at=func.now())
        )

    async def set_password_hash(self, user_id: UserId, password_hash: str) -> None:
        await self._connection.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(password_hash=password_hash, updated_at=func.now())
        )

    async def set_last_workspace(self, user_id: UserId, workspace_id: WorkspaceId) -> None:
        await self._connection.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(last_workspace_id=workspace_id, updated_at=func.now())
        )


def _values(user: UserRecord) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "password_hash": user.password_hash,
        "platform_role": user.platform_role.value,
        "is_super_admin": user.is_super_admin,
        "email_confirmed_at": user.email_confirmed_at,
        "last_workspace_id": user.last_workspace_id,
        "created_at": user.created_at,
        "updated_at": user.created_at,
    }
