"""API keys of the unit of work's workspace. Only the digest of a key's secret is stored."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.tables import api_keys
from scaliyo.application.identity.ports import ApiKeyRecord
from scaliyo.domain.shared.ids import UserId, WorkspaceId


def api_key_from_row(row: Row) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        workspace_id=WorkspaceId(row.workspace_id),
        key_id=row.key_id,
        secret_hash=row.secret_hash,
        name=row.name,
        created_by=UserId(row.created_by),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class SqlApiKeyRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, key: ApiKeyRecord) -> None:
        await self._connection.execute(
            insert(api_keys).values(
                id=key.id,
                workspace_id=key.workspace_id,
                key_id=key.key_id,
                secret_hash=key.secret_hash,
                name=key.name,
                created_by=key.created_by,
                created_at=key.created_at,
            )
        )

    async def get(self, key_row_id: UUID) -> ApiKeyRecord | None:
        row = (
            await self._connection.execute(select(api_keys).where(api_keys.c.id == key_row_id))
        ).first()
        return None if row is None else api_key_from_row(row)

    async def list_active(self, *, limit: int, before: UUID | None) -> list[ApiKeyRecord]:
        query = (
            select(api_keys)
            .where(api_keys.c.revoked_at.is_(None))
            .order_by(api_keys.c.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(api_keys.c.id < before)
        return [api_key_from_row(row) for row in await self._connection.execute(query)]

    async def revoke(self, key_row_id: UUID, now: datetime) -> bool:
        revoked = await self._connection.scalar(
            update(api_keys)
            .where(api_keys.c.id == key_row_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(api_keys.c.id)
        )
        return revoked is not None

    async def revoke_created_by(self, user_id: UserId, now: datetime) -> int:
        rows = await self._connection.execute(
            update(api_keys)
            .where(api_keys.c.created_by == user_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(api_keys.c.id)
        )
        return len(rows.all())

    async def count_active(self) -> int:
        count = await self._connection.scalar(
            select(func.count()).select_from(api_keys).where(api_keys.c.revoked_at.is_(None))
        )
        return int(count or 0)
