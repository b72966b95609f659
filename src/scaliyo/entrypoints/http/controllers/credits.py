"""``/api/v1/credits``: the workspace's AI credits and their ledger."""

from __future__ import annotations

from typing import Annotated

from dishka.integrations.litestar import FromDishka, inject
from litestar import get
from litestar.params import QueryParameter

from scaliyo.application.bus import Bus, Context
from scaliyo.application.credits.commands import CreditsView, GetCredits
from scaliyo.application.shared.pagination import DEFAULT_LIMIT, MAX_LIMIT
from scaliyo.entrypoints.http.problems import WORKSPACE_ROUTE_PROBLEMS


@get(
    "/credits",
    tags=["credits"],
    responses=WORKSPACE_ROUTE_PROBLEMS,
    summary="Available credits, open reservations, this period's grant and spend, and the ledger",
)
@inject
async def get_credits(
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    limit: Annotated[
        int, QueryParameter(ge=1, le=MAX_LIMIT, description="Ledger page size (1 to 200).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, QueryParameter(description="The ledger's `next_cursor` of the last page.")
    ] = None,
) -> CreditsView:
    return await bus.execute(GetCredits(limit=limit, cursor=cursor), context)


route_handlers = [get_credits]
