"""``/api/v1/segments``: saved lead filters with live counts, and their leads."""

from __future__ import annotations

from typing import Annotated

from dishka.integrations.litestar import FromDishka, inject
from litestar import delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from scaliyo.application.bus import Bus, Context
from scaliyo.application.leads.commands import (
    CreateSegment,
    DeleteSegment,
    GetSegment,
    ListLeads,
    ListSegments,
    NewSegment,
    SegmentChanges,
    UpdateSegment,
)
from scaliyo.application.leads.filters import LeadFilterInput, Order, SortKey
from scaliyo.application.leads.views import LeadView, SegmentView
from scaliyo.application.shared.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from scaliyo.entrypoints.http.controllers.leads import FILTER
from scaliyo.entrypoints.http.paging import PageCursor, PageLimit
from scaliyo.entrypoints.http.problems import WORKSPACE_ROUTE_PROBLEMS, problem_responses

SEGMENT_PROBLEMS = {**WORKSPACE_ROUTE_PROBLEMS, **problem_responses(403, 409)}


@post("/segments", tags=["segments"], responses=SEGMENT_PROBLEMS, summary="Save a filter")
@inject
async def create_segment(
    data: JSONBody[NewSegment], bus: FromDishka[Bus], context: FromDishka[Context]
) -> SegmentView:
    return await bus.execute(CreateSegment(segment=data), context)


@get(
    "/segments",
    tags=["segments"],
    responses=SEGMENT_PROBLEMS,
    summary="The workspace's segments with live counts, oldest first",
)
@inject
async def list_segments(
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    limit: Annotated[
        int, QueryParameter(ge=1, le=MAX_LIMIT, description="Page size (1 to 200).")
    ] = DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> Page[SegmentView]:
    return await bus.execute(ListSegments(limit=limit, cursor=cursor), context)


@get(
    "/segments/{segment_id:str}",
    tags=["segments"],
    responses=SEGMENT_PROBLEMS,
    summary="One segment with its live count",
)
@inject
async def get_segment(
    segment_id: FromPath[str], bus: FromDishka[Bus], context: FromDishka[Context]
) -> SegmentView:
    return await bus.execute(GetSegment(segment_id=segment_id), context)


@patch(
    "/segments/{segment_id:str}",
    tags=["segments"],
    responses=SEGMENT_PROBLEMS,
    summary="Rename a segment or replace its filter",
)
@inject
async def update_segment(
    segment_id: FromPath[str],
    data: JSONBody[SegmentChanges],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
) -> SegmentView:
    return await bus.execute(UpdateSegment(segment_id=segment_id, changes=data), context)


@delete(
    "/segments/{segment_id:str}",
    tags=["segments"],
    responses=SEGMENT_PROBLEMS,
    summary="Delete a segment (its leads stay)",
)
@inject
async def delete_segment(
    segment_id: FromPath[str], bus: FromDishka[Bus], context: FromDishka[Context]
) -> None:
    await bus.execute(DeleteSegment(segment_id=segment_id), context)


@get(
    "/segments/{segment_id:str}/leads",
    tags=["segments"],
    responses=SEGMENT_PROBLEMS,
    dependencies=FILTER,
    summary="The segment's leads (more filters narrow them), a page at a time",
)
@inject
async def segment_leads(
    segment_id: FromPath[str],
    lead_filter: NamedDependency[LeadFilterInput],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    sort: FromQuery[SortKey] = SortKey.CREATED_AT,
    order: FromQuery[Order] = Order.DESC,
    limit: PageLimit = DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> Page[LeadView]:
    # The segment must exist (404 otherwise) before its filter is applied.
    await bus.execute(GetSegment(segment_id=segment_id), context)
    query = ListLeads(
        filter=lead_filter, segment=segment_id, sort=sort, order=order, limit=limit, cursor=cursor
    )
    return await bus.execute(query, context)


route_handlers = [
    create_segment,
    list_segments,
    get_segment,
    update_segment,
    delete_segment,
    segment_leads,
]
