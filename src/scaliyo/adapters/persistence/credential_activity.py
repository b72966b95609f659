"""Marks sessions seen and API keys used (``last_seen_at`` / ``last_used_at``).

Each mark is a short transaction of its own as ``scaliyo_app``: an API key row is a tenant row,
so its workspace is set first. The conditions repeat the once-a-minute rule, so concurrent
requests of one credential write once.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.persistence.tables import api_keys, sessions
from scaliyo.adapters.persistence.unit_of_work import set_tenant
from scaliyo.domain.identity.lifetimes import SESSION_TOUCH_INTERVAL
from scaliyo.domain.shared.ids import WorkspaceId


class SqlCredentialActivity:
    def __init__(self, app_engine: AsyncEngine) -> None:
        self._engine = app_engine

    async def session_seen(self, session_id: UUID, now: datetime) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(sessions)
                .where(
                    sessions.c.id == session_id,
                    sessions.c.last_seen_at <= now - SESSION_TOUCH_INTERVAL,
                )
                .values(last_seen_at=now)
            )

    async def api_key_used(
        self, workspace_id: WorkspaceId, key_row_id: UUID, now: datetime
    ) -> None:
        async with self._engine.begin() as connection:
            await set_tenant(connection, workspace_id)
            await connection.execute(
                update(api_keys)
                .where(
                    api_keys.c.id == key_row_id,
                    func.coalesce(api_keys.c.last_used_at, now - SESSION_TOUCH_INTERVAL)
                    <= now - SESSION_TOUCH_INTERVAL,
                )
                .values(last_used_at=now)
            )
