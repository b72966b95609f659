"""Ports of the leads context: the repositories a unit of work carries for it.

Every repository is bound to the unit of work's workspace and transaction (row-level security
scopes every statement); ``workspace_id`` never needs passing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from scaliyo.application.billing.ports import UsageLimits
from scaliyo.application.identity.workspace_ports import MemberRepository, OnboardingRepository
from scaliyo.application.jobs.ports import JobRepository
from scaliyo.application.leads.filters import LeadFilter, Order, Position, SortKey
from scaliyo.application.leads.import_ports import LeadImportStore
from scaliyo.application.shared.ports import BaseUnitOfWork
from scaliyo.domain.leads.custom_fields import CustomFieldSet
from scaliyo.domain.leads.dedup import DedupKeys, KnownLead
from scaliyo.domain.leads.icp import IdealCustomerProfile
from scaliyo.domain.leads.lead import Lead
from scaliyo.domain.leads.pipeline import Pipeline


class Selection(msgspec.Struct, frozen=True, kw_only=True):
    """Which leads: all ``filters`` hold (a request's filter and a segment's, say), live leads
    or deleted ones, optionally only ids up to ``until`` (a bulk action's snapshot)."""

    filters: tuple[LeadFilter, ...] = ()
    deleted: bool = False
    until: UUID | None = None


class TagCount(msgspec.Struct, frozen=True, kw_only=True):
    tag: str
    count: int


class LeadRepository(Protocol):
    async def get(self, lead_id: UUID, *, for_update: bool = False) -> Lead | None:
        """The lead, deleted or not; ``for_update`` locks its row until the transaction ends."""
        ...

    async def known(self, keys: DedupKeys) -> list[KnownLead]:
        """Leads (deleted ones too) sharing at least one key with ``keys``."""
        ...

    async def add(self, lead: Lead) -> None:
        """Insert; ``LeadExists`` when another lead holds its email or LinkedIn URL."""
        ...

    async def save(self, lead: Lead) -> None:
        """Write every field; ``LeadExists`` as for ``add``; ``UnknownStatus`` when its stage
        was deleted meanwhile."""
        ...

    async def save_many(
        self, leads: Sequence[Lead], *, tags: bool = True, terms: bool = True
    ) -> None:
        """Write many leads; ``tags``/``terms`` False: their tags, or their name, email,
        company and liveness, did not change (their index rows are left alone)."""
        ...

    async def lock_ids(self, ids: Sequence[UUID], *, deleted: bool) -> list[Lead]:
        """The leads among ``ids`` (live ones, or deleted ones), locked, in id order."""
        ...

    async def lock_page(
        self, selection: Selection, *, after: UUID | None, limit: int
    ) -> list[Lead]:
        """Up to ``limit`` selected leads with ids above ``after``, locked, in id order."""
        ...

    async def count(self, selection: Selection) -> int: ...

    async def page(
        self,
        selection: Selection,
        *,
        sort: SortKey,
        order: Order,
        after: Position | None,
        limit: int,
    ) -> list[Lead]:
        """Up to ``limit`` selected leads in ``(sort, id)`` order, strictly after ``after``."""
        ...

    async def export_page(
        self, selection: Selection, *, after: UUID | None, limit: int
    ) -> list[Lead]:
        """Like ``lock_page`` without locks (a read for the CSV export)."""
        ...

    async def tag_counts(self, limit: int) -> list[TagCount]:
        """Tags of live leads with how many leads have each, most used first."""
        ...

    async def tag_in_use(self, key: str) -> bool: ...

    async def stage_counts(self) -> dict[UUID, int]:
        """Live leads per pipeline stage."""
        ...

    async def count_in_stage(self, stage_id: UUID) -> int:
        """Leads in a stage, deleted ones too (they keep their stage when restored)."""
        ...

    async def move_stage(self, source: UUID, target: UUID, now: datetime) -> int:
        """Every lead of stage ``source`` (deleted ones too) to ``target``; how many."""
        ...

    async def purge_deleted(self, deleted_before: datetime, limit: int) -> int:
        """Delete for good up to ``limit`` leads soft-deleted before ``deleted_before``."""
        ...


class PipelineRepository(Protocol):
    async def get(self) -> Pipeline | None:
        """The workspace's stages in order; None when it has none yet."""
        ...

    async def lock(self) -> Pipeline | None:
        """As ``get``, after taking the workspace's pipeline lock: edits run one at a time."""
        ...

    async def create(self, pipeline: Pipeline) -> Pipeline:
        """Store a first pipeline; when one appeared meanwhile, that one is returned."""
        ...

    async def save(self, pipeline: Pipeline) -> None:
        """Write the stages as given (names, colours, positions) and drop the others. Call
        under ``lock``; leads of a dropped stage must have been moved."""
        ...


class IcpRepository(Protocol):
    async def get(self) -> IdealCustomerProfile | None: ...

    async def save(self, icp: IdealCustomerProfile, now: datetime) -> None: ...


class CustomFieldRepository(Protocol):
    async def get(self) -> CustomFieldSet: ...

    async def replace(self, fields: CustomFieldSet) -> None: ...


class Segment(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    filters: LeadFilter
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime


class SegmentRepository(Protocol):
    async def add(self, segment: Segment) -> None:
        """``SegmentNameTaken`` when the name is taken (ignoring case and accents)."""
        ...

    async def get(self, segment_id: UUID) -> Segment | None: ...

    async def list(self, *, limit: int, after: UUID | None) -> list[Segment]:
        """Oldest first."""
        ...

    async def save(self, segment: Segment) -> None: ...

    async def delete(self, segment_id: UUID) -> bool: ...


class LeadsUnitOfWork(BaseUnitOfWork, Protocol):
    leads: LeadRepository
    pipeline: PipelineRepository
    icp: IcpRepository
    custom_fields: CustomFieldRepository
    segments: SegmentRepository
    memberships: MemberRepository
    onboarding: OnboardingRepository
    limits: UsageLimits
    jobs: JobRepository
    lead_imports: LeadImportStore
