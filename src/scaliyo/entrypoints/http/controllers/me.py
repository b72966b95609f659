"""``/api/v1/me``: the signed-in user, their workspaces, and switching the current one."""

from __future__ import annotations

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import get, put
from litestar.params import JSONBody

from scaliyo.application.bus import Bus, Context
from scaliyo.application.identity.workspace_admin import (
    GetMe,
    MembershipView,
    MeView,
    SwitchWorkspace,
)
from scaliyo.entrypoints.http.problems import WORKSPACE_ROUTE_PROBLEMS, problem_responses


class SwitchWorkspaceBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    workspace_id: str


@get(
    "/me",
    tags=["me"],
    responses=WORKSPACE_ROUTE_PROBLEMS,
    summary="The signed-in user, their workspaces and the current one",
)
@inject
async def get_me(bus: FromDishka[Bus], context: FromDishka[Context]) -> MeView:
    return await bus.execute(GetMe(), context)


@put(
    "/me/workspace",
    tags=["me"],
    responses={**WORKSPACE_ROUTE_PROBLEMS, **problem_responses(403)},
    summary="Make another of your workspaces the current one (sessions only)",
)
@inject
async def switch_workspace(
    data: JSONBody[SwitchWorkspaceBody], bus: FromDishka[Bus], context: FromDishka[Context]
) -> MembershipView:
    return await bus.execute(SwitchWorkspace(workspace_id=data.workspace_id), context)


route_handlers = [get_me, switch_workspace]
