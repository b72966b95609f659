from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.tables import workspaces
from scaliyo.domain.identity.workspace import Workspace
from scaliyo.domain.shared.ids import WorkspaceId


class SqlWorkspaceRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, workspace: Workspace) -> None:
        await self._connection.execute(
            insert(workspaces).values(
                id=workspace.id, name=workspace.name, created_at=workspace.created_at
            )
        )

    async def get(self, workspace_id: WorkspaceId) -> Workspace | None:
        row = (
            await self._connection.execute(
                select(workspaces).where(workspaces.c.id == workspace_id)
            )
        ).first()
        if row is None:
            return None
        return Workspace(id=WorkspaceId(row.id), name=row.name, created_at=row.created_at)
