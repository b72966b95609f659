"""Reading many leads: the list with filters, sort and cursor; the CSV export; tags with counts."""

from __future__ import annotations

import csv
import io
from uuid import UUID

import msgspec

from scaliyo.application.bus import Context
from scaliyo.application.identity.actors import require_permission
from scaliyo.application.leads.commands import ExportLeads, ListLeads, ListTags
from scaliyo.application.leads.derived import sort_name
from scaliyo.application.leads.filters import (
    LeadFilter,
    LeadFilterInput,
    Position,
    SortKey,
    decode_cursor,
    encode_cursor,
    fingerprint,
    parse_filter,
)
from scaliyo.application.leads.ports import LeadsUnitOfWork, Selection
from scaliyo.application.leads.views import (
    ExportChunk,
    LeadView,
    TagList,
    TagView,
    lead_view,
    stage_names,
)
from scaliyo.application.leads.workspace_data import check_references, pipeline_of
from scaliyo.application.shared.pagination import Page, check_limit
from scaliyo.application.shared.ports import IdFactory
from scaliyo.domain.identity.roles import Permission
from scaliyo.domain.leads.export import EXPORT_COLUMNS, export_row
from scaliyo.domain.leads.lead import Lead
from scaliyo.domain.leads.pipeline import Pipeline
from scaliyo.domain.shared.errors import FieldError, ValidationFailed

BOM = "\ufeff"
MAX_EXPORT_CHUNK = 5000


async def segment_filter(
    uow: LeadsUnitOfWork, raw_id: str | None, *, field: str = "segment"
) -> tuple[LeadFilter, ...]:
    """The saved filter of the segment a request names (``unknown_segment`` when there is
    none), or nothing."""
    if raw_id is None:
        return ()
    try:
        segment = await uow.segments.get(UUID(raw_id))
    except ValueError:
        segment = None
    if segment is None:
        message = "No segment of this workspace has this id."
        raise ValidationFailed(message, errors=[FieldError(field, "unknown_segment", message)])
    return (segment.filters,)


async def selection_of(
    uow: LeadsUnitOfWork,
    pipeline: Pipeline,
    raw: LeadFilterInput,
    segment: str | None,
    *,
    deleted: bool = False,
    prefix: str = "",
) -> Selection:
    lead_filter = parse_filter(raw, prefix=prefix)
    await check_references(uow, lead_filter, pipeline, prefix=prefix)
    saved = await segment_filter(uow, segment)
    return Selection(filters=(lead_filter, *saved), deleted=deleted)


def sort_value(lead: Lead, sort: SortKey) -> object:
    match sort:
        case SortKey.CREATED_AT:
            return lead.created_at
        case SortKey.UPDATED_AT:
            return lead.updated_at
        case SortKey.SCORE:
            return lead.score
        case SortKey.NAME:
            return sort_name(lead.profile)


class ListLeadsHandler:
    """The workspace's leads (``GET /leads``, ``GET /segments/{id}/leads``).

    Rules:
    - any member (``leads.read``); live leads, or the deleted ones (``deleted``, the trash);
    - filters as in ``filters.py`` (422 with field paths, unknown stages, tags, owners and
      segments refused); a segment's saved filter and the request's both hold;
    - sort by created_at, updated_at, score or name, ascending or descending, ties broken by
      id; keyset pagination: a page never repeats or skips a lead that existed throughout,
      however many leads are added meanwhile; ``limit`` 1-200; a cursor from another query
      (filters, sort, order) is ``invalid_cursor``.
    """

    def __init__(self, ids: IdFactory) -> None:
        self._ids = ids

    async def __call__(
        self, message: ListLeads, uow: LeadsUnitOfWork, context: Context
    ) -> Page[LeadView]:
        require_permission(context, Permission.LEADS_READ)
        limit = check_limit(message.limit)
        pipeline = await pipeline_of(uow, self._ids)
        selection = await selection_of(
            uow, pipeline, message.filter, message.segment, deleted=message.deleted
        )
        query = fingerprint(
            msgspec.to_builtins(selection.filters),
            message.segment,
            message.deleted,
            message.order.value,
        )
        after = decode_cursor(message.cursor, query, message.sort)
        leads = await uow.leads.page(
            selection, sort=message.sort, order=message.order, after=after, limit=limit + 1
        )
        names = stage_names(pipeline)
        items = leads[:limit]
        next_cursor = None
        if len(leads) > limit:
            last = items[-1]
            next_cursor = encode_cursor(
                query, message.sort, Position(value=sort_value(last, message.sort), id=last.id)
            )
        return Page(items=[lead_view(lead, names) for lead in items], next_cursor=next_cursor)


class ExportLeadsHandler:
    """One chunk of the CSV export (``GET /leads/export``).

    Rules: any member; the same filters as the list (checked on every chunk); live leads in id
    order, each chunk in its own short transaction so an export of any size holds no snapshot
    open; the first chunk starts with a UTF-8 byte order mark (spreadsheets read the file as
    UTF-8) and the header (``EXPORT_COLUMNS`` then the custom field keys); status by stage
    name; text cells starting with ``=``, ``+``, ``-``, ``@``, tab or CR are escaped against
    formula injection (``domain/leads/export.py``).
    """

    def __init__(self, ids: IdFactory) -> None:
        self._ids = ids

    async def __call__(
        self, message: ExportLeads, uow: LeadsUnitOfWork, context: Context
    ) -> ExportChunk:
        require_permission(context, Permission.LEADS_READ)
        limit = max(1, min(message.limit, MAX_EXPORT_CHUNK))
        pipeline = await pipeline_of(uow, self._ids)
        selection = await selection_of(uow, pipeline, message.filter, message.segment)
        custom_keys = tuple(field.key for field in (await uow.custom_fields.get()).fields)
        leads = await uow.leads.export_page(selection, after=message.after, limit=limit)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        if message.after is None:
            buffer.write(BOM)
            writer.writerow([*EXPORT_COLUMNS, *custom_keys])
        names = stage_names(pipeline)
        for lead in leads:
            writer.writerow(export_row(lead, stage_names=names, custom_keys=custom_keys))
        after = leads[-1].id if len(leads) == limit else None
        return ExportChunk(text=buffer.getvalue(), after=after)


class ListTagsHandler:
    """Tags in use with how many live leads carry each (``GET /tags``), most used first.
    Rules: any member; tags differing only in case are one tag."""

    async def __call__(self, message: ListTags, uow: LeadsUnitOfWork, context: Context) -> TagList:
        require_permission(context, Permission.LEADS_READ)
        limit = max(1, min(message.limit, 1000))
        counts = await uow.leads.tag_counts(limit)
        return TagList(items=[TagView(tag=count.tag, count=count.count) for count in counts])
