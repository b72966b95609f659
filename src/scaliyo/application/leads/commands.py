"""Commands and queries of the leads context, and the bodies the API takes for them.

Ids arrive as strings where they name a resource in a path: a malformed id is "not found",
like another workspace's.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from scaliyo.application.bus import Command, Query
from scaliyo.application.leads.filters import LeadFilterInput, Order, SortKey
from scaliyo.application.shared.pagination import DEFAULT_LIMIT
from scaliyo.domain.leads.attributes import LeadSource
from scaliyo.domain.leads.custom_fields import CustomFieldType
from scaliyo.domain.leads.icp import IcpInput

# --- leads ------------------------------------------------------------------------------------


class NewLead(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /leads``: contact data (checked by the domain's normalisation) and where the lead
    starts. ``source`` defaults to ``api`` for API keys and ``manual`` for people."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    company: str | None = None
    company_domain: str | None = None
    website: str | None = None
    linkedin_url: str | None = None
    phone: str | None = None
    city: str | None = None
    country: str | None = None
    time_zone: str | None = None
    industry: str | None = None
    company_size: str | int | None = None
    seniority: str | None = None
    department: str | None = None
    custom_fields: dict[str, Any] = msgspec.field(default_factory=dict)
    source: LeadSource | None = None
    status: UUID | None = None
    owner_id: UUID | None = None
    tags: list[str] = msgspec.field(default_factory=list)


class LeadChanges(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PATCH /leads/{id}``: only the fields sent change; ``null`` clears one. Custom fields
    merge key by key (``null`` clears a key); ``tags`` replaces the lead's tags."""

    email: str | UnsetType | None = UNSET
    first_name: str | UnsetType | None = UNSET
    last_name: str | UnsetType | None = UNSET
    title: str | UnsetType | None = UNSET
    company: str | UnsetType | None = UNSET
    company_domain: str | UnsetType | None = UNSET
    website: str | UnsetType | None = UNSET
    linkedin_url: str | UnsetType | None = UNSET
    phone: str | UnsetType | None = UNSET
    city: str | UnsetType | None = UNSET
    country: str | UnsetType | None = UNSET
    time_zone: str | UnsetType | None = UNSET
    industry: str | UnsetType | None = UNSET
    company_size: str | int | UnsetType | None = UNSET
    seniority: str | UnsetType | None = UNSET
    department: str | UnsetType | None = UNSET
    custom_fields: dict[str, Any] | UnsetType = UNSET
    status: UUID | UnsetType = UNSET
    owner_id: UUID | UnsetType | None = UNSET
    tags: list[str] | UnsetType = UNSET


PROFILE_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "title",
    "company",
    "company_domain",
    "website",
    "linkedin_url",
    "phone",
    "city",
    "country",
    "time_zone",
    "industry",
    "company_size",
    "seniority",
    "department",
)


class CreateLead(Command, frozen=True, kw_only=True):
    lead: NewLead


class GetLead(Query, frozen=True, kw_only=True):
    lead_id: str


class UpdateLead(Command, frozen=True, kw_only=True):
    lead_id: str
    changes: LeadChanges


class DeleteLead(Command, frozen=True, kw_only=True):
    lead_id: str


class RestoreLead(Command, frozen=True, kw_only=True):
    lead_id: str


class ListLeads(Query, frozen=True, kw_only=True):
    filter: LeadFilterInput = msgspec.field(default_factory=LeadFilterInput)
    segment: str | None = None
    deleted: bool = False
    sort: SortKey = SortKey.CREATED_AT
    order: Order = Order.DESC
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


class ExportLeads(Query, frozen=True, kw_only=True):
    """One chunk of the CSV export, in id order after ``after`` (the first has the header)."""

    filter: LeadFilterInput = msgspec.field(default_factory=LeadFilterInput)
    segment: str | None = None
    after: UUID | None = None
    limit: int = 2000


class ListTags(Query, frozen=True, kw_only=True):
    limit: int = 500


# --- bulk actions -----------------------------------------------------------------------------

BulkActionName = Literal["tag", "untag", "set_status", "assign", "delete", "restore"]


class BulkRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /leads/bulk``: an action on the leads named by ``ids`` or matching ``filter``
    (plus, optionally, a ``segment``). ``tags`` for tag/untag, ``status`` for set_status,
    ``owner_id`` (null: unassign) for assign."""

    action: BulkActionName
    ids: list[str] | None = None
    filter: LeadFilterInput | None = None
    segment: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    status: UUID | None = None
    owner_id: UUID | UnsetType | None = UNSET


class BulkLeads(Command, frozen=True, kw_only=True):
    request: BulkRequest


# --- pipeline, ICP, custom fields --------------------------------------------------------------


class ListStages(Query, frozen=True, kw_only=True):
    pass


class NewStage(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    color: str
    position: int | None = None


class StageChanges(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str | UnsetType = UNSET
    color: str | UnsetType = UNSET
    position: int | UnsetType = UNSET


class AddStage(Command, frozen=True, kw_only=True):
    stage: NewStage


class UpdateStage(Command, frozen=True, kw_only=True):
    stage_id: str
    changes: StageChanges


class DeleteStage(Command, frozen=True, kw_only=True):
    stage_id: str
    target: UUID | None = None


class GetIcp(Query, frozen=True, kw_only=True):
    pass


class IcpBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT /settings/icp`` as sent (the domain's ``IcpInput``; an absent list is empty)."""

    seniorities: list[str] = msgspec.field(default_factory=list)
    titles: list[str] = msgspec.field(default_factory=list)
    departments: list[str] = msgspec.field(default_factory=list)
    industries: list[str] = msgspec.field(default_factory=list)
    company_sizes: list[str] = msgspec.field(default_factory=list)
    countries: list[str] = msgspec.field(default_factory=list)

    def to_input(self) -> IcpInput:
        return IcpInput(**msgspec.structs.asdict(self))


class PutIcp(Command, frozen=True, kw_only=True):
    icp: IcpInput


class CustomFieldInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    key: str
    label: str
    type: CustomFieldType
    options: list[str] = msgspec.field(default_factory=list)


class CustomFieldsInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    fields: list[CustomFieldInput]


class GetCustomFields(Query, frozen=True, kw_only=True):
    pass


class PutCustomFields(Command, frozen=True, kw_only=True):
    fields: list[CustomFieldInput]


# --- segments ---------------------------------------------------------------------------------


class NewSegment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    filters: LeadFilterInput = msgspec.field(default_factory=LeadFilterInput)


class SegmentChanges(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str | UnsetType = UNSET
    filters: LeadFilterInput | UnsetType = UNSET


class CreateSegment(Command, frozen=True, kw_only=True):
    segment: NewSegment


class GetSegment(Query, frozen=True, kw_only=True):
    segment_id: str


class ListSegments(Query, frozen=True, kw_only=True):
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


class UpdateSegment(Command, frozen=True, kw_only=True):
    segment_id: str
    changes: SegmentChanges


class DeleteSegment(Command, frozen=True, kw_only=True):
    segment_id: str


# --- housekeeping -----------------------------------------------------------------------------


class PurgeDeletedLeads(Command, frozen=True, kw_only=True):
    """Scheduled: delete for good the workspace's leads soft-deleted 30 days ago or more."""

    batch: int = 5000
