from __future__ import annotations

from sqlalchemy import insert, select, update
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

    async def lock(self, workspace_id: WorkspaceId) -> Workspace | None:
        """The workspace, with its row locked until the transaction ends (seat and owner checks
        of one workspace run one at a time)."""
        row = (
            await self._connection.execute(
                select(workspaces).where(workspaces.c.id == workspace_id).with_for_update()
            )
        ).first()
        if row is None:
            return None
        return Workspace(id=WorkspaceId(row.id), name=row.name, created_at=row.created_at)

    async def rename(self, workspace_id: WorkspaceId, name: str) -> None:
        await self._connection.execute(
            update(workspaces).where(workspaces.c.id == workspace_id).values(name=name)
        )
