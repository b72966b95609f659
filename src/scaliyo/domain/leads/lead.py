"""The lead aggregate: contact data, pipeline status, owner, tags, score, soft deletion.

A ``Lead`` is immutable; every operation returns the new lead and the events it caused (none
when nothing changed). Rules:
- a lead's status is one of the workspace's pipeline stages (``unknown_status``); a new lead
  without one starts in the first stage;
- ``LeadStatusChanged`` only when the status changes, ``LeadScoreChanged`` only when the
  score changes (new reasons with the same score are kept silently);
- tags are unique case-insensitively, at most 100 (``too_many_tags``);
- a deleted lead is not found (``lead_not_found``) for anything but ``restore``; deleting
  twice or restoring a live lead changes nothing; deleted leads are purged 30 days later.
The application checks what needs the database: the owner is a member, the contact limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NewType
from uuid import UUID

import msgspec

from scaliyo.domain.leads.attributes import LeadSource
from scaliyo.domain.leads.errors import LeadNotFound
from scaliyo.domain.leads.events import (
    LeadCreated,
    LeadDeleted,
    LeadRestored,
    LeadScoreChanged,
    LeadStatusChanged,
    LeadUpdated,
    TagAdded,
    TagRemoved,
)
from scaliyo.domain.leads.pipeline import Pipeline
from scaliyo.domain.leads.profile import LeadProfile
from scaliyo.domain.leads.scoring import LeadScore, ScoreReason
from scaliyo.domain.leads.tags import MAX_TAGS_PER_LEAD, clean_tags, tag_key
from scaliyo.domain.shared.errors import FieldError, ValidationFailed
from scaliyo.domain.shared.events import Event
from scaliyo.domain.shared.ids import UserId, WorkspaceId

LeadId = NewType("LeadId", UUID)

PURGE_AFTER = timedelta(days=30)


class Lead(msgspec.Struct, frozen=True, kw_only=True):
    id: LeadId
    workspace_id: WorkspaceId
    profile: LeadProfile
    source: LeadSource
    status: UUID
    owner_id: UserId | None = None
    tags: tuple[str, ...] = ()
    score: int = 0
    score_reasons: tuple[ScoreReason, ...] = ()
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    import_id: UUID | None = None  # the import that made it (created or restored it), if one did

    def __post_init__(self) -> None:
        if not 0 <= self.score <= 100:
            raise ValueError("a score is 0 to 100")
        if sum(reason.points for reason in self.score_reasons) != self.score:
            raise ValueError("the reasons' points sum to the score (an unscored lead has 0)")
        if len(self.tags) > MAX_TAGS_PER_LEAD:
            raise ValueError(f"at most {MAX_TAGS_PER_LEAD} tags")
        if len({tag_key(tag) for tag in self.tags}) != len(self.tags):
            raise ValueError("tags are unique, ignoring case")
        if self.updated_at < self.created_at:
            raise ValueError("a lead is updated after it is created")

    @classmethod
    def create(
        cls,
        *,
        id: LeadId,
        workspace_id: WorkspaceId,
        profile: LeadProfile,
        source: LeadSource,
        pipeline: Pipeline,
        now: datetime,
        status: UUID | None = None,
        owner_id: UserId | None = None,
        tags: Iterable[str] = (),
        score: LeadScore | None = None,
    ) -> tuple[Lead, list[Event]]:
        stage = pipeline.first if status is None else pipeline.stage(status)
        lead = cls(
            id=id,
            workspace_id=workspace_id,
            profile=profile,
            source=source,
            status=stage.id,
            owner_id=owner_id,
            tags=clean_tags(tags),
            score=score.score if score else 0,
            score_reasons=score.reasons if score else (),
            created_at=now,
            updated_at=now,
        )
        event = LeadCreated(
            workspace_id=workspace_id,
            aggregate_id=id,
            source=source.value,
            status=stage.id,
            owner_id=owner_id,
            tags=lead.tags,
        )
        return lead, [event]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def purge_due(self, now: datetime) -> bool:
        return self.deleted_at is not None and now >= self.deleted_at + PURGE_AFTER

    def _live(self) -> None:
        if self.is_deleted:
            raise LeadNotFound()

    def _event_ids(self) -> dict[str, UUID]:
        return {"workspace_id": self.workspace_id, "aggregate_id": self.id}

    def update_profile(self, profile: LeadProfile, now: datetime) -> tuple[Lead, list[Event]]:
        """New contact data (already normalised); ``LeadUpdated`` names the changed fields."""
        self._live()
        changed = tuple(
            name
            for name in LeadProfile.__struct_fields__
            if getattr(profile, name) != getattr(self.profile, name)
        )
        if not changed:
            return self, []
        lead = msgspec.structs.replace(self, profile=profile, updated_at=max(now, self.updated_at))
        return lead, [LeadUpdated(**self._event_ids(), changed=changed)]

    def assign(self, owner_id: UserId | None, now: datetime) -> tuple[Lead, list[Event]]:
        self._live()
        if owner_id == self.owner_id:
            return self, []
        lead = msgspec.structs.replace(
            self, owner_id=owner_id, updated_at=max(now, self.updated_at)
        )
        return lead, [LeadUpdated(**self._event_ids(), changed=("owner_id",))]

    def change_status(
        self, status: UUID, pipeline: Pipeline, now: datetime
    ) -> tuple[Lead, list[Event]]:
        self._live()
        stage = pipeline.stage(status)
        if stage.id == self.status:
            return self, []
        lead = msgspec.structs.replace(self, status=stage.id, updated_at=max(now, self.updated_at))
        event = LeadStatusChanged(**self._event_ids(), from_status=self.status, to_status=stage.id)
        return lead, [event]

    def add_tags(self, tags: Iterable[str], now: datetime) -> tuple[Lead, list[Event]]:
        self._live()
        have = {tag_key(tag) for tag in self.tags}
        new = [tag for tag in clean_tags(tags) if tag_key(tag) not in have]
        if not new:
            return self, []
        if len(self.tags) + len(new) > MAX_TAGS_PER_LEAD:
            message = f"At most {MAX_TAGS_PER_LEAD} tags per lead."
            raise ValidationFailed(message, errors=[FieldError("tags", "too_many_tags", message)])
        lead = msgspec.structs.replace(
            self, tags=(*self.tags, *new), updated_at=max(now, self.updated_at)
        )
        return lead, [TagAdded(**self._event_ids(), tag=tag) for tag in new]

    def remove_tags(self, tags: Iterable[str], now: datetime) -> tuple[Lead, list[Event]]:
        self._live()
        drop = {tag_key(tag) for tag in clean_tags(tags)}
        removed = [tag for tag in self.tags if tag_key(tag) in drop]
        if not removed:
            return self, []
        kept = tuple(tag for tag in self.tags if tag_key(tag) not in drop)
        lead = msgspec.structs.replace(self, tags=kept, updated_at=max(now, self.updated_at))
        return lead, [TagRemoved(**self._event_ids(), tag=tag) for tag in removed]

    def rescore(self, result: LeadScore) -> tuple[Lead, list[Event]]:
        """Keep the new score and reasons; an event only when the number changes. A derived
        value: ``updated_at`` stays."""
        if result.score == self.score and result.reasons == self.score_reasons:
            return self, []
        lead = msgspec.structs.replace(self, score=result.score, score_reasons=result.reasons)
        if result.score == self.score:
            return lead, []
        event = LeadScoreChanged(**self._event_ids(), from_score=self.score, to_score=result.score)
        return lead, [event]

    def delete(self, now: datetime) -> tuple[Lead, list[Event]]:
        if self.is_deleted:
            return self, []
        lead = msgspec.structs.replace(self, deleted_at=now, updated_at=max(now, self.updated_at))
        return lead, [LeadDeleted(**self._event_ids())]

    def restore(self, now: datetime) -> tuple[Lead, list[Event]]:
        if not self.is_deleted:
            return self, []
        lead = msgspec.structs.replace(self, deleted_at=None, updated_at=max(now, self.updated_at))
        return lead, [LeadRestored(**self._event_ids())]
