"""Writes messages to the outbox inside the caller's transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.persistence.tables import outbox
from scaliyo.domain.shared.events import Event

EVENT_SUBJECT_PREFIX = "scaliyo.events"


def event_subject(event_type: str) -> str:
    return f"{EVENT_SUBJECT_PREFIX}.{event_type}"


def event_row(event: Event) -> dict[str, Any]:
    cls = type(event)
    payload = msgspec.to_builtins(event)
    payload["type"] = cls.event_type
    payload["version"] = cls.version
    return {
        "id": new_id(),
        "workspace_id": event.workspace_id,
        "subject": event_subject(cls.event_type),
        "aggregate_type": cls.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "message_type": cls.event_type,
        "version": cls.version,
        "payload": payload,
    }


def message_row(
    *,
    subject: str,
    workspace_id: UUID | None,
    aggregate_type: str,
    aggregate_id: UUID,
    message_type: str,
    payload: dict[str, Any],
    version: int = 1,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "workspace_id": workspace_id,
        "subject": subject,
        "aggregate_type": aggregate_type,
        "aggregate_id": aggregate_id,
        "message_type": message_type,
        "version": version,
        "payload": payload,
    }


async def write_outbox(connection: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await connection.execute(insert(outbox), rows)
