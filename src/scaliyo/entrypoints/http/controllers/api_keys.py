"""``/api/v1/api-keys``: the workspace's API keys. A new key is shown once, at creation."""

from __future__ import annotations

from typing import Annotated

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import delete, get, post
from litestar.params import FromPath, JSONBody

from scaliyo.application.bus import Bus, Context
from scaliyo.application.identity.workspace_admin import (
    ApiKeyView,
    CreateApiKey,
    CreatedApiKeyView,
    ListApiKeys,
    RevokeApiKey,
)
from scaliyo.application.shared.pagination import DEFAULT_LIMIT, Page
from scaliyo.domain.identity.api_keys import NAME_MAX_LENGTH
from scaliyo.entrypoints.http.paging import PageCursor, PageLimit
from scaliyo.entrypoints.http.problems import WORKSPACE_ROUTE_PROBLEMS, problem_responses

KEY_PROBLEMS = {**WORKSPACE_ROUTE_PROBLEMS, **problem_responses(403)}


class CreateApiKeyBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=NAME_MAX_LENGTH * 4)]


@post(
    "/api-keys",
    tags=["api keys"],
    responses=KEY_PROBLEMS,
    summary="Create an API key (admins and owners); the key is in this answer only",
)
@inject
async def create_api_key(
    data: JSONBody[CreateApiKeyBody], bus: FromDishka[Bus], context: FromDishka[Context]
) -> CreatedApiKeyView:
    return await bus.execute(CreateApiKey(name=data.name), context)


@get(
    "/api-keys",
    tags=["api keys"],
    responses=KEY_PROBLEMS,
    summary="The workspace's active API keys (prefixes, never secrets)",
)
@inject
async def list_api_keys(
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    limit: PageLimit = DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> Page[ApiKeyView]:
    return await bus.execute(ListApiKeys(limit=limit, cursor=cursor), context)


@delete(
    "/api-keys/{api_key_id:str}",
    tags=["api keys"],
    responses=KEY_PROBLEMS,
    summary="Revoke an API key: the next request with it is 401",
)
@inject
async def revoke_api_key(
    api_key_id: FromPath[str], bus: FromDishka[Bus], context: FromDishka[Context]
) -> None:
    await bus.execute(RevokeApiKey(api_key_id=api_key_id), context)


route_handlers = [create_api_key, list_api_keys, revoke_api_key]
