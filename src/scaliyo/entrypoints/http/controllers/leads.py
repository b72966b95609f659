"""``/api/v1/leads`` and ``/api/v1/tags``: the workspace's leads, their filters, bulk actions
and the CSV export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from scaliyo.application.bus import Bus, Context
from scaliyo.application.leads.commands import (
    BulkLeads,
    BulkRequest,
    CreateLead,
    DeleteLead,
    ExportLeads,
    GetLead,
    LeadChanges,
    ListLeads,
    ListTags,
    NewLead,
    RestoreLead,
    UpdateLead,
)
from scaliyo.application.leads.filters import LeadFilterInput, Order, SortKey
from scaliyo.application.leads.views import BulkResult, ExportChunk, LeadView, TagList
from scaliyo.application.shared.pagination import DEFAULT_LIMIT, Page
from scaliyo.entrypoints.http.idempotency import Idempotency
from scaliyo.entrypoints.http.paging import PageCursor, PageLimit
from scaliyo.entrypoints.http.problems import WORKSPACE_ROUTE_PROBLEMS, problem_responses

LEAD_PROBLEMS = {**WORKSPACE_ROUTE_PROBLEMS, **problem_responses(402, 403, 409)}


def lead_filter(
    q: Annotated[
        str | None,
        QueryParameter(max_length=1000, description="Text in the name, email or company."),
    ] = None,
    status: Annotated[
        list[str] | None, QueryParameter(description="Pipeline stage ids (any of them).")
    ] = None,
    tag: Annotated[list[str] | None, QueryParameter(description="Tags (all of them).")] = None,
    owner: Annotated[
        list[str] | None,
        QueryParameter(description="Owners' user ids (any of them); `none`: unassigned."),
    ] = None,
    source: Annotated[
        list[str] | None, QueryParameter(description="csv, apollo, manual or api (any).")
    ] = None,
    import_id: Annotated[
        list[str] | None,
        QueryParameter(description="Import ids (any of them): the leads each import made."),
    ] = None,
    score_min: Annotated[int | None, QueryParameter(description="0 to 100.")] = None,
    score_max: Annotated[int | None, QueryParameter(description="0 to 100.")] = None,
    created_after: Annotated[
        str | None, QueryParameter(description="RFC 3339; a date alone is midnight UTC.")
    ] = None,
    created_before: Annotated[str | None, QueryParameter(description="RFC 3339.")] = None,
) -> LeadFilterInput:
    """The lead filter of a request's query string (checked by the handlers)."""
    return LeadFilterInput(
        q=q,
        status=status or [],
        tag=tag or [],
        owner=owner or [],
        source=source or [],
        import_id=import_id or [],
        score_min=score_min,
        score_max=score_max,
        created_after=created_after,
        created_before=created_before,
    )


FILTER = {"lead_filter": Provide(lead_filter, sync_to_thread=False)}
Segment = Annotated[str | None, QueryParameter(max_length=64, description="A segment's id.")]


@post(
    "/leads",
    tags=["leads"],
    responses=LEAD_PROBLEMS,
    summary="Create a lead (counts against the plan's contacts)",
)
@inject
async def create_lead(
    request: Request,
    data: JSONBody[NewLead],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    idempotency: FromDishka[Idempotency],
) -> Response[LeadView]:
    """Accepts ``Idempotency-Key``: a retry with the same key and body creates one lead. A lead
    matching a deleted one (email, LinkedIn URL) restores it; one matching a live lead is 409
    ``lead_exists``."""
    return await idempotency.run(
        request, context, lambda: bus.execute(CreateLead(lead=data), context)
    )


@get(
    "/leads",
    tags=["leads"],
    responses=LEAD_PROBLEMS,
    dependencies=FILTER,
    summary="The workspace's leads, filtered, sorted, a page at a time",
)
@inject
async def list_leads(
    lead_filter: NamedDependency[LeadFilterInput],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    segment: Segment = None,
    deleted: Annotated[bool, QueryParameter(description="The trash instead.")] = False,
    sort: FromQuery[SortKey] = SortKey.CREATED_AT,
    order: FromQuery[Order] = Order.DESC,
    limit: PageLimit = DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> Page[LeadView]:
    query = ListLeads(
        filter=lead_filter,
        segment=segment,
        deleted=deleted,
        sort=sort,
        order=order,
        limit=limit,
        cursor=cursor,
    )
    return await bus.execute(query, context)


@get(
    "/leads/export",
    tags=["leads"],
    responses=LEAD_PROBLEMS,
    dependencies=FILTER,
    media_type="text/csv",
    summary="The selected leads as CSV (UTF-8 with BOM), streamed",
)
@inject
async def export_leads(
    lead_filter: NamedDependency[LeadFilterInput],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    segment: Segment = None,
) -> Stream:
    query = ExportLeads(filter=lead_filter, segment=segment)
    # The first chunk is made before the response starts: bad filters answer a problem.
    first: ExportChunk = await bus.execute(query, context)

    async def chunks() -> AsyncIterator[bytes]:
        chunk = first
        yield chunk.text.encode()
        while chunk.after is not None:
            chunk = await bus.execute(msgspec.structs.replace(query, after=chunk.after), context)
            yield chunk.text.encode()

    return Stream(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="leads.csv"'},
    )


@post(
    "/leads/bulk",
    tags=["leads"],
    responses=LEAD_PROBLEMS,
    summary="Tag, untag, set status, assign, delete or restore leads by ids or by filter",
)
@inject
async def bulk_leads(
    data: JSONBody[BulkRequest], bus: FromDishka[Bus], context: FromDishka[Context]
) -> Response[BulkResult]:
    """Up to 1,000 leads change at once (200, ``mode: inline``); more run as a
    ``data-processing`` job (202, ``mode: job``; watch ``/jobs/{id}``)."""
    result: BulkResult = await bus.execute(BulkLeads(request=data), context)
    return Response(result, status_code=202 if result.mode == "job" else 200)


@get("/leads/{lead_id:str}", tags=["leads"], responses=LEAD_PROBLEMS, summary="One lead")
@inject
async def get_lead(
    lead_id: FromPath[str], bus: FromDishka[Bus], context: FromDishka[Context]
) -> LeadView:
    return await bus.execute(GetLead(lead_id=lead_id), context)


@patch(
    "/leads/{lead_id:str}",
    tags=["leads"],
    responses=LEAD_PROBLEMS,
    summary="Change a lead: only the fields sent (null clears)",
)
@inject
async def update_lead(
    lead_id: FromPath[str],
    data: JSONBody[LeadChanges],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
) -> LeadView:
    return await bus.execute(UpdateLead(lead_id=lead_id, changes=data), context)


@delete(
    "/leads/{lead_id:str}",
    tags=["leads"],
    responses=LEAD_PROBLEMS,
    summary="Delete a lead (restorable for 30 days)",
)
@inject
async def delete_lead(
    lead_id: FromPath[str], bus: FromDishka[Bus], context: FromDishka[Context]
) -> None:
    await bus.execute(DeleteLead(lead_id=lead_id), context)


@post(
    "/leads/{lead_id:str}/restore",
    tags=["leads"],
    status_code=200,
    responses=LEAD_PROBLEMS,
    summary="Restore a deleted lead",
)
@inject
async def restore_lead(
    lead_id: FromPath[str], bus: FromDishka[Bus], context: FromDishka[Context]
) -> LeadView:
    return await bus.execute(RestoreLead(lead_id=lead_id), context)


@get("/tags", tags=["leads"], responses=LEAD_PROBLEMS, summary="Tags in use, with lead counts")
@inject
async def list_tags(
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 500,
) -> TagList:
    return await bus.execute(ListTags(limit=limit), context)


route_handlers = [
    create_lead,
    list_leads,
    export_leads,
    bulk_leads,
    get_lead,
    update_lead,
    delete_lead,
    restore_lead,
    list_tags,
]
