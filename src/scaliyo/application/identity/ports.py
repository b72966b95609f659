from __future__ import annotations

from typing import Protocol

from scaliyo.application.shared.audit import AuditTrail
from scaliyo.application.shared.ports import BaseUnitOfWork
from scaliyo.domain.identity.workspace import Workspace
from scaliyo.domain.shared.ids import WorkspaceId


class WorkspaceRepository(Protocol):
    async def add(self, workspace: Workspace) -> None: ...

    async def get(self, workspace_id: WorkspaceId) -> Workspace | None: ...


class IdentityUnitOfWork(BaseUnitOfWork, Protocol):
    workspaces: WorkspaceRepository
    audit: AuditTrail
