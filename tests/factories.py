"""Test data factories."""

from __future__ import annotations

from datetime import UTC, datetime
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
