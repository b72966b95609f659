"""Segments on PostgreSQL (``uow.segments``): a saved filter is stored as JSON and read back
into a ``LeadFilter`` explicitly."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import msgspec
from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.tables import lead_segments
from scaliyo.application.leads.errors import SegmentNameTaken
from scaliyo.application.leads.filters import LeadFilter
from scaliyo.application.leads.ports import Segment
from scaliyo.domain.leads.text import fold
from scaliyo.domain.shared.errors import FieldError

_NAME_TAKEN = "uq_lead_segments_workspace_id_name_key"


def segment_from_row(row: Row) -> Segment:
    return Segment(
        id=row.id,
        name=row.name,
        filters=msgspec.convert(row.filters, LeadFilter),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _values(segment: Segment) -> dict:
    return {
        "name": segment.name,
        "name_key": fold(segment.name),
        "filters": msgspec.to_builtins(segment.filters),
        "updated_at": segment.updated_at,
    }


class SqlSegmentRepository:
    def __init__(self, connection: AsyncConnection, workspace: Callable[[], UUID | None]):
        self._connection = connection
        self._workspace = workspace

    def _mine(self):
        return lead_segments.c.workspace_id == self._workspace()

    async def add(self, segment: Segment) -> None:
        await self._write(
            insert(lead_segments).values(
                id=segment.id,
                workspace_id=self._workspace(),
                created_by=segment.created_by,
                created_at=segment.created_at,
                **_values(segment),
            )
        )

    async def get(self, segment_id: UUID) -> Segment | None:
        row = (
            await self._connection.execute(
                select(lead_segments).where(self._mine(), lead_segments.c.id == segment_id)
            )
        ).first()
        return None if row is None else segment_from_row(row)

    async def list(self, *, limit: int, after: UUID | None) -> list[Segment]:
        query = select(lead_segments).where(self._mine()).order_by(lead_segments.c.id)
        if after is not None:
            query = query.where(lead_segments.c.id > after)
        return [segment_from_row(row) for row in await self._connection.execute(query.limit(limit))]

    async def save(self, segment: Segment) -> None:
        await self._write(
            update(lead_segments)
            .where(self._mine(), lead_segments.c.id == segment.id)
            .values(**_values(segment))
        )

    async def delete(self, segment_id: UUID) -> bool:
        result = await self._connection.execute(
            delete(lead_segments).where(self._mine(), lead_segments.c.id == segment_id)
        )
        return bool(result.rowcount)

    async def _write(self, statement) -> None:
        try:
            await self._connection.execute(statement)
        except IntegrityError as error:
            if _NAME_TAKEN in str(error.orig):
                message = "Another segment has this name."
                raise SegmentNameTaken(
                    message, errors=[FieldError("name", "segment_name_taken", message)]
                ) from None
            raise
