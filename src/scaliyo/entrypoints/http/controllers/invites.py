"""``/api/v1/invites``: invite people by email, within the plan's seats; accept an invite."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody

from scaliyo.application.bus import Bus, Context
from scaliyo.application.identity.workspace_admin import (
    AcceptedInviteView,
    AcceptInvite,
    CreateInvite,
    InviteView,
    ListInvites,
    RevokeInvite,
)
from scaliyo.application.shared.pagination import DEFAULT_LIMIT, Page
from scaliyo.domain.identity.members import InviteRole
from scaliyo.domain.identity.tokens import InvalidToken
from scaliyo.entrypoints.http.auth import OptionalContext
from scaliyo.entrypoints.http.idempotency import Idempotency
from scaliyo.entrypoints.http.paging import PageCursor, PageLimit
from scaliyo.entrypoints.http.problems import (
    WORKSPACE_ROUTE_PROBLEMS,
    problem_responses,
    register_status,
)

# One answer for unknown, expired, used and revoked tokens (issue 3: 400 invalid_token).
register_status(InvalidToken, 400)

INVITE_PROBLEMS = {**WORKSPACE_ROUTE_PROBLEMS, **problem_responses(403, 409)}


class CreateInviteBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=320)]
    role: InviteRole


class AcceptInviteBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(max_length=512)]
    # Only when no account exists for the invited address: the new account's password.
    password: Annotated[str, msgspec.Meta(max_length=4096)] | None = None


@post(
    "/invites",
    tags=["invites"],
    responses=INVITE_PROBLEMS,
    summary="Invite someone by email (admins and owners; within the plan's seats)",
)
@inject
async def create_invite(
    request: Request,
    data: JSONBody[CreateInviteBody],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    idempotency: FromDishka[Idempotency],
) -> Response[InviteView]:
    """Accepts ``Idempotency-Key``: a retry with the same key and body invites once."""
    return await idempotency.run(
        request,
        context,
        lambda: bus.execute(CreateInvite(email=data.email, role=data.role.value), context),
    )


@get(
    "/invites",
    tags=["invites"],
    responses=INVITE_PROBLEMS,
    summary="Open invites (pending or expired), newest first",
)
@inject
async def list_invites(
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    limit: PageLimit = DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> Page[InviteView]:
    return await bus.execute(ListInvites(limit=limit, cursor=cursor), context)


@delete(
    "/invites/{invite_id:str}",
    tags=["invites"],
    responses=INVITE_PROBLEMS,
    summary="Revoke an invite: its token stops working and its seat is freed",
)
@inject
async def revoke_invite(
    invite_id: FromPath[str], bus: FromDishka[Bus], context: FromDishka[Context]
) -> None:
    await bus.execute(RevokeInvite(invite_id=invite_id), context)


@post(
    "/invites/accept",
    tags=["invites"],
    status_code=200,
    responses={**problem_responses(400, 401, 403, 409, 422)},
    summary="Accept an emailed invite (signed in as the invited account, or with a password "
    "for a new one)",
)
@inject
async def accept_invite(
    data: JSONBody[AcceptInviteBody], bus: FromDishka[Bus], context: FromDishka[OptionalContext]
) -> AcceptedInviteView:
    # The workspace comes from the token; the caller's current workspace plays no part.
    anywhere = replace(context, workspace_id=None)
    return await bus.execute(AcceptInvite(token=data.token, password=data.password), anywhere)


route_handlers = [create_invite, list_invites, revoke_invite, accept_invite]
