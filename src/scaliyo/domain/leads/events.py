"""Events of the leads context (to the outbox in the handler's transaction)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from scaliyo.domain.shared.events import Event


class LeadEvent(Event, frozen=True, kw_only=True):
    aggregate_type: ClassVar[str] = "lead"


class LeadCreated(LeadEvent, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "lead.created"
    version: ClassVar[int] = 1

    source: str
    status: UUID
    owner_id: UUID | None = None
    tags: tuple[str, ...] = ()


class LeadUpdated(LeadEvent, frozen=True, kw_only=True):
    """Contact data or owner changed; ``changed`` names the fields."""

    event_type: ClassVar[str] = "lead.updated"
    version: ClassVar[int] = 1

    changed: tuple[str, ...]


class LeadStatusChanged(LeadEvent, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "lead.status_changed"
    version: ClassVar[int] = 1

    from_status: UUID
    to_status: UUID


class LeadScoreChanged(LeadEvent, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "lead.score_changed"
    version: ClassVar[int] = 1

    from_score: int
    to_score: int


class TagAdded(LeadEvent, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "lead.tag_added"
    version: ClassVar[int] = 1

    tag: str


class TagRemoved(LeadEvent, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "lead.tag_removed"
    version: ClassVar[int] = 1

    tag: str


class LeadDeleted(LeadEvent, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "lead.deleted"
    version: ClassVar[int] = 1


class LeadRestored(LeadEvent, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "lead.restored"
    version: ClassVar[int] = 1


class IdealCustomerProfileChanged(Event, frozen=True, kw_only=True):
    """Scores of the workspace's leads are stale (aggregate: the workspace)."""

    event_type: ClassVar[str] = "leads.icp_changed"
    version: ClassVar[int] = 1
    aggregate_type: ClassVar[str] = "workspace"


class PipelineChanged(Event, frozen=True, kw_only=True):
    """Stages were added, renamed, recoloured, moved or deleted (aggregate: the workspace)."""

    event_type: ClassVar[str] = "leads.pipeline_changed"
    version: ClassVar[int] = 1
    aggregate_type: ClassVar[str] = "workspace"

    stage_ids: tuple[UUID, ...]


class LeadsImported(Event, frozen=True, kw_only=True):
    """One committed chunk of an import (one event per chunk, not per lead): the leads it
    created (new or restored) and updated. The aggregate is the import."""

    aggregate_type: ClassVar[str] = "lead_import"
    event_type: ClassVar[str] = "leads.imported"
    version: ClassVar[int] = 1

    first_row: int
    last_row: int
    created: tuple[UUID, ...] = ()
    updated: tuple[UUID, ...] = ()
