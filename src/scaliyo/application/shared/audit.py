"""Audit entries: who did what to which target, kept a year (DESIGN.md conventions)."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

import msgspec

from scaliyo.application.bus import Actor, Context


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: UUID | None
    actor: str
    action: str
    target: str | None = None
    ip: str | None = None
    details: dict[str, Any] = msgspec.field(default_factory=dict)


class AuditTrail(Protocol):
    async def record(self, entry: AuditEntry) -> None:
        """Write the entry in the caller's transaction."""
        ...


def actor_label(actor: Actor) -> str:
    return actor.kind.value if actor.id is None else f"{actor.kind.value}:{actor.id}"


def audit_entry(
    context: Context,
    action: str,
    *,
    workspace_id: UUID | None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    return AuditEntry(
        workspace_id=workspace_id,
        actor=actor_label(context.actor),
        action=action,
        target=target,
        ip=context.extras.get("ip"),
        details=details or {},
    )
