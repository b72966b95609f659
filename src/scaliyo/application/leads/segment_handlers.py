"""Segments: saved lead filters with live counts, and the scheduled purge of deleted leads."""

from __future__ import annotations

from uuid import UUID

import msgspec

from scaliyo.application.bus import Context
from scaliyo.application.identity.actors import require_permission, user_id_of
from scaliyo.application.leads.commands import (
    CreateSegment,
    DeleteSegment,
    GetSegment,
    ListSegments,
    PurgeDeletedLeads,
    UpdateSegment,
)
from scaliyo.application.leads.errors import SegmentNotFound
from scaliyo.application.leads.filters import (
    LeadFilter,
    LeadFilterInput,
    filter_input,
    parse_filter,
)
from scaliyo.application.leads.ports import LeadsUnitOfWork, Segment, Selection
from scaliyo.application.leads.views import SegmentView
from scaliyo.application.leads.workspace_data import check_references, pipeline_of
from scaliyo.application.shared.pagination import (
    Page,
    check_limit,
    decode_cursor,
    page_of,
)
from scaliyo.application.shared.ports import Clock, IdFactory
from scaliyo.application.shared.time import rfc3339
from scaliyo.domain.identity.roles import Permission
from scaliyo.domain.leads.lead import PURGE_AFTER
from scaliyo.domain.leads.text import clean_text
from scaliyo.domain.shared.errors import FieldError, ValidationFailed

SEGMENT_NAME_MAX = 100


def segment_name(raw: str) -> str:
    name = clean_text(raw, field="name", max_length=SEGMENT_NAME_MAX)
    if name is None:
        raise ValidationFailed(
            "A segment needs a name.",
            errors=[FieldError("name", "required", "A segment needs a name.")],
        )
    return name


async def checked_filter(uow: LeadsUnitOfWork, ids: IdFactory, raw: LeadFilterInput) -> LeadFilter:
    lead_filter = parse_filter(raw, prefix="filters.")
    await check_references(uow, lead_filter, await pipeline_of(uow, ids), prefix="filters.")
    return lead_filter


async def segment_of(uow: LeadsUnitOfWork, raw_id: str) -> Segment:
    try:
        segment = await uow.segments.get(UUID(raw_id))
    except (ValueError, TypeError, AttributeError):
        segment = None
    if segment is None:
        raise SegmentNotFound()
    return segment


async def segment_view(uow: LeadsUnitOfWork, segment: Segment) -> SegmentView:
    count = await uow.leads.count(Selection(filters=(segment.filters,)))
    return SegmentView(
        id=str(segment.id),
        name=segment.name,
        filters=msgspec.to_builtins(filter_input(segment.filters), order="deterministic"),
        lead_count=count,
        created_at=rfc3339(segment.created_at),
        updated_at=rfc3339(segment.updated_at),
    )


class CreateSegmentHandler:
    """Save a filter as a segment. Rules: members and above (``leads.write``); a name of 1-100
    characters, unique in the workspace ignoring case and accents (``segment_name_taken``); the
    filter is checked as a list filter is (``filters.status`` …); answers with its live count."""

    def __init__(self, clock: Clock, ids: IdFactory) -> None:
        self._clock = clock
        self._ids = ids

    async def __call__(
        self, message: CreateSegment, uow: LeadsUnitOfWork, context: Context
    ) -> SegmentView:
        require_permission(context, Permission.LEADS_WRITE)
        now = self._clock.now()
        name = segment_name(message.segment.name)
        lead_filter = await checked_filter(uow, self._ids, message.segment.filters)
        segment = Segment(
            id=self._ids.new(),
            name=name,
            filters=lead_filter,
            created_by=user_id_of(context),
            created_at=now,
            updated_at=now,
        )
        await uow.segments.add(segment)
        view = await segment_view(uow, segment)  # counted before the commit ends the tenant
        await uow.commit()
        return view


class GetSegmentHandler:
    """One segment with its live count. Rules: any member; another workspace's is 404."""

    async def __call__(
        self, message: GetSegment, uow: LeadsUnitOfWork, context: Context
    ) -> SegmentView:
        require_permission(context, Permission.LEADS_READ)
        return await segment_view(uow, await segment_of(uow, message.segment_id))


class ListSegmentsHandler:
    """The workspace's segments, oldest first, each with its live count. Rules: any member;
    ``limit`` 1-200, cursor pagination."""

    async def __call__(
        self, message: ListSegments, uow: LeadsUnitOfWork, context: Context
    ) -> Page[SegmentView]:
        require_permission(context, Permission.LEADS_READ)
        limit = check_limit(message.limit)
        rows = await uow.segments.list(limit=limit + 1, after=decode_cursor(message.cursor))
        page = page_of(rows, limit, lambda segment: segment.id)
        return Page(
            items=[await segment_view(uow, segment) for segment in page.items],
            next_cursor=page.next_cursor,
        )


class UpdateSegmentHandler:
    """Rename a segment or replace its filter. Rules: members and above; as for creating."""

    def __init__(self, clock: Clock, ids: IdFactory) -> None:
        self._clock = clock
        self._ids = ids

    async def __call__(
        self, message: UpdateSegment, uow: LeadsUnitOfWork, context: Context
    ) -> SegmentView:
        require_permission(context, Permission.LEADS_WRITE)
        segment = await segment_of(uow, message.segment_id)
        changes = message.changes
        updated = segment
        if changes.name is not msgspec.UNSET:
            updated = msgspec.structs.replace(updated, name=segment_name(changes.name))
        if changes.filters is not msgspec.UNSET:
            lead_filter = await checked_filter(uow, self._ids, changes.filters)
            updated = msgspec.structs.replace(updated, filters=lead_filter)
        if updated == segment:
            return await segment_view(uow, segment)
        updated = msgspec.structs.replace(updated, updated_at=self._clock.now())
        await uow.segments.save(updated)
        view = await segment_view(uow, updated)
        await uow.commit()
        return view


class DeleteSegmentHandler:
    """Delete a segment (its leads stay). Rules: members and above; unknown is 404."""

    async def __call__(
        self, message: DeleteSegment, uow: LeadsUnitOfWork, context: Context
    ) -> None:
        require_permission(context, Permission.LEADS_WRITE)
        segment = await segment_of(uow, message.segment_id)
        await uow.segments.delete(segment.id)
        await uow.commit()


class PurgeDeletedLeadsHandler:
    """Delete for good the leads soft-deleted at least 30 days ago (``Lead.purge_due``), at
    most ``batch`` per call (a short transaction); how many. Rules: the scheduler's (system)
    work; their contacts were freed when they were deleted."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self, message: PurgeDeletedLeads, uow: LeadsUnitOfWork, context: Context
    ) -> int:
        purged = await uow.leads.purge_deleted(self._clock.now() - PURGE_AFTER, message.batch)
        await uow.commit()
        return purged
