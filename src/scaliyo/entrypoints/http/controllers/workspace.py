"""``/api/v1/workspace``: the request's workspace."""

from __future__ import annotations

from dishka.integrations.litestar import FromDishka, inject
from litestar import get

from scaliyo.application.bus import Bus, Context
from scaliyo.application.identity.commands import GetWorkspace, WorkspaceView
from scaliyo.entrypoints.http.problems import WORKSPACE_ROUTE_PROBLEMS


@get(
    "/workspace",
    tags=["workspace"],
    responses=WORKSPACE_ROUTE_PROBLEMS,
    summary="The workspace of this request",
)
@inject
async def get_workspace(bus: FromDishka[Bus], context: FromDishka[Context]) -> WorkspaceView:
    return await bus.execute(GetWorkspace(), context)


route_handlers = [get_workspace]
