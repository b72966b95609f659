"""``/api/v1/workspace``: the request's workspace."""

from __future__ import annotations

from typing import Annotated

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import get, patch
from litestar.params import JSONBody

from scaliyo.application.bus import Bus, Context
from scaliyo.application.identity.commands import GetWorkspace, WorkspaceView
from scaliyo.application.identity.workspace_admin import UpdateWorkspace
from scaliyo.entrypoints.http.problems import WORKSPACE_ROUTE_PROBLEMS, problem_responses


class WorkspacePatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields left out stay as they are."""

    name: Annotated[str, msgspec.Meta(max_length=400)] | msgspec.UnsetType = msgspec.UNSET


@get(
    "/workspace",
    tags=["workspace"],
    responses=WORKSPACE_ROUTE_PROBLEMS,
    summary="The workspace of this request",
)
@inject
async def get_workspace(bus: FromDishka[Bus], context: FromDishka[Context]) -> WorkspaceView:
    return await bus.execute(GetWorkspace(), context)


@patch(
    "/workspace",
    tags=["workspace"],
    responses={**WORKSPACE_ROUTE_PROBLEMS, **problem_responses(403)},
    summary="Change the workspace's settings (admins and owners)",
)
@inject
async def update_workspace(
    data: JSONBody[WorkspacePatch], bus: FromDishka[Bus], context: FromDishka[Context]
) -> WorkspaceView:
    return await bus.execute(UpdateWorkspace(name=data.name), context)


route_handlers = [get_workspace, update_workspace]
