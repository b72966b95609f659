"""``/api/v1/members``: the workspace's members and their roles."""

from __future__ import annotations

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import delete, get, patch
from litestar.params import FromPath, JSONBody

from scaliyo.application.bus import Bus, Context
from scaliyo.application.identity.workspace_admin import (
    ChangeMemberRole,
    ListMembers,
    MemberView,
    RemoveMember,
)
from scaliyo.application.shared.pagination import DEFAULT_LIMIT, Page
from scaliyo.domain.identity.roles import WorkspaceRole
from scaliyo.entrypoints.http.paging import PageCursor, PageLimit
from scaliyo.entrypoints.http.problems import WORKSPACE_ROUTE_PROBLEMS, problem_responses

MEMBER_PROBLEMS = {**WORKSPACE_ROUTE_PROBLEMS, **problem_responses(403, 409)}


class MemberRoleBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: WorkspaceRole


@get("/members", tags=["members"], responses=WORKSPACE_ROUTE_PROBLEMS, summary="The members")
@inject
async def list_members(
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    limit: PageLimit = DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> Page[MemberView]:
    return await bus.execute(ListMembers(limit=limit, cursor=cursor), context)


@patch(
    "/members/{user_id:str}",
    tags=["members"],
    responses=MEMBER_PROBLEMS,
    summary="Change a member's role (owners only; the last owner stays an owner)",
)
@inject
async def change_member_role(
    user_id: FromPath[str],
    data: JSONBody[MemberRoleBody],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
) -> MemberView:
    return await bus.execute(ChangeMemberRole(user_id=user_id, role=data.role.value), context)


@delete(
    "/members/{user_id:str}",
    tags=["members"],
    responses=MEMBER_PROBLEMS,
    summary="Remove a member, or leave (your own id)",
)
@inject
async def remove_member(
    user_id: FromPath[str], bus: FromDishka[Bus], context: FromDishka[Context]
) -> None:
    await bus.execute(RemoveMember(user_id=user_id), context)


route_handlers = [list_members, change_member_role, remove_member]
