from __future__ import annotations

from scaliyo.application.billing.trials import start_trial
from scaliyo.application.bus import Context
from scaliyo.application.identity.commands import CreateWorkspace, GetWorkspace, WorkspaceView
from scaliyo.application.identity.ports import IdentityUnitOfWork
from scaliyo.application.leads.workspace_data import start_pipeline
from scaliyo.application.shared.audit import audit_entry
from scaliyo.application.shared.ports import Clock, IdFactory
from scaliyo.application.shared.time import rfc3339
from scaliyo.domain.identity.workspace import Workspace, WorkspaceCreated
from scaliyo.domain.shared.errors import NotFound
from scaliyo.domain.shared.ids import WorkspaceId


class WorkspaceNotFound(NotFound):
    code = "workspace_not_found"
    title = "No such workspace"


class CreateWorkspaceHandler:
    """Creates a workspace.

    Rules:
    - the name is 1–100 characters after white space is folded, with no control characters;
    - the workspace id is a new UUIDv7, and the transaction is scoped to it before the insert,
      so row-level security admits the row and nothing of another tenant is visible;
    - ``WorkspaceCreated`` is written to the outbox, and an audit entry naming the actor to the
      audit log, in the same transaction;
    - the workspace starts its 14-day trial (Starter, its credits granted) in the same
      transaction (``application/billing/trials.start_trial``);
    - it gets the default lead pipeline (``application/leads/workspace_data.start_pipeline``).
    """

    def __init__(self, clock: Clock, ids: IdFactory) -> None:
        self._clock = clock
        self._ids = ids

    async def __call__(
        self, message: CreateWorkspace, uow: IdentityUnitOfWork, context: Context
    ) -> WorkspaceView:
        workspace = Workspace.create(
            id=WorkspaceId(self._ids.new()), name=message.name, now=self._clock.now()
        )
        await uow.scope_to(workspace.id)
        await uow.workspaces.add(workspace)
        await start_trial(uow, workspace.id, workspace.created_at)
        await start_pipeline(uow, self._ids)
        uow.record(
            WorkspaceCreated(
                workspace_id=workspace.id, aggregate_id=workspace.id, name=workspace.name
            )
        )
        await uow.audit.record(
            audit_entry(
                context,
                "workspace.created",
                workspace_id=workspace.id,
                target=f"workspace:{workspace.id}",
            )
        )
        await uow.commit()
        return _view(workspace)


class GetWorkspaceHandler:
    """Reads the request's workspace. Rules: only the workspace of the request is visible."""

    async def __call__(
        self, message: GetWorkspace, uow: IdentityUnitOfWork, context: Context
    ) -> WorkspaceView:
        assert context.workspace_id is not None
        workspace = await uow.workspaces.get(context.workspace_id)
        if workspace is None:
            raise WorkspaceNotFound()
        return _view(workspace)


def _view(workspace: Workspace) -> WorkspaceView:
    return WorkspaceView(
        id=str(workspace.id), name=workspace.name, created_at=rfc3339(workspace.created_at)
    )
