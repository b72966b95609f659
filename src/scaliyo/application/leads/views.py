"""What the leads API answers, and how domain objects become it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec

from scaliyo.application.jobs.queries import JobView
from scaliyo.application.shared.time import rfc3339, rfc3339_or_none
from scaliyo.domain.leads.custom_fields import CustomFieldSet
from scaliyo.domain.leads.icp import IdealCustomerProfile
from scaliyo.domain.leads.lead import Lead
from scaliyo.domain.leads.pipeline import Pipeline, Stage


class ScoreReasonView(msgspec.Struct, kw_only=True):
    code: str
    label: str
    points: int


class LeadView(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    source: str
    status: str
    status_name: str
    tags: list[str]
    score: int
    score_reasons: list[ScoreReasonView]
    custom_fields: dict[str, Any]
    created_at: str
    updated_at: str
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
    company_size: str | None = None
    seniority: str | None = None
    department: str | None = None
    owner_id: str | None = None
    deleted_at: str | None = None
    import_id: str | None = None  # the import that made it: GET /leads/imports/{import_id}


def lead_view(lead: Lead, stage_names: Mapping[UUID, str]) -> LeadView:
    profile = lead.profile
    return LeadView(
        id=str(lead.id),
        source=lead.source.value,
        status=str(lead.status),
        status_name=stage_names.get(lead.status, ""),
        tags=list(lead.tags),
        score=lead.score,
        score_reasons=[
            ScoreReasonView(code=reason.code, label=reason.label, points=reason.points)
            for reason in lead.score_reasons
        ],
        custom_fields=dict(profile.custom_fields),
        created_at=rfc3339(lead.created_at),
        updated_at=rfc3339(lead.updated_at),
        email=profile.email,
        first_name=profile.first_name,
        last_name=profile.last_name,
        title=profile.title,
        company=profile.company,
        company_domain=profile.company_domain,
        website=profile.website,
        linkedin_url=profile.linkedin_url,
        phone=profile.phone,
        city=profile.city,
        country=profile.country,
        time_zone=profile.time_zone,
        industry=profile.industry,
        company_size=None if profile.company_size is None else profile.company_size.value,
        seniority=None if profile.seniority is None else profile.seniority.value,
        department=None if profile.department is None else profile.department.value,
        owner_id=None if lead.owner_id is None else str(lead.owner_id),
        deleted_at=rfc3339_or_none(lead.deleted_at),
        import_id=None if lead.import_id is None else str(lead.import_id),
    )


def stage_names(pipeline: Pipeline) -> dict[UUID, str]:
    return {stage.id: stage.name for stage in pipeline.stages}


class TagView(msgspec.Struct, kw_only=True):
    tag: str
    count: int


class TagList(msgspec.Struct, kw_only=True):
    items: list[TagView]


class BulkResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``mode`` is ``inline`` (done: ``matched``, ``affected``) or ``job`` (``matched`` leads
    will be worked through by ``job``; watch it at ``/jobs/{id}``)."""

    mode: str
    matched: int
    affected: int | None = None
    skipped: int | None = None
    job: JobView | None = None


class StageView(msgspec.Struct, kw_only=True):
    id: str
    name: str
    color: str
    position: int
    lead_count: int


class StageList(msgspec.Struct, kw_only=True):
    items: list[StageView]


def stage_view(stage: Stage, position: int, counts: Mapping[UUID, int]) -> StageView:
    return StageView(
        id=str(stage.id),
        name=stage.name,
        color=stage.color,
        position=position,
        lead_count=counts.get(stage.id, 0),
    )


def stage_list(pipeline: Pipeline, counts: Mapping[UUID, int]) -> StageList:
    return StageList(
        items=[stage_view(stage, i, counts) for i, stage in enumerate(pipeline.stages)]
    )


class IcpView(msgspec.Struct, kw_only=True, omit_defaults=True):
    seniorities: list[str]
    titles: list[str]
    departments: list[str]
    industries: list[str]
    company_sizes: list[str]
    countries: list[str]
    # True while the workspace has not saved its own (it follows onboarding's answers).
    defaulted: bool = False
    # Set when saving queued a re-score of every lead.
    rescore_job_id: str | None = None


def icp_view(
    icp: IdealCustomerProfile, *, defaulted: bool = False, rescore_job_id: str | None = None
) -> IcpView:
    return IcpView(
        seniorities=[s.value for s in icp.seniorities],
        titles=list(icp.titles),
        departments=[d.value for d in icp.departments],
        industries=list(icp.industries),
        company_sizes=[c.value for c in icp.company_sizes],
        countries=list(icp.countries),
        defaulted=defaulted,
        rescore_job_id=rescore_job_id,
    )


class CustomFieldView(msgspec.Struct, kw_only=True, omit_defaults=True):
    key: str
    label: str
    type: str
    options: list[str] = msgspec.field(default_factory=list)


class CustomFieldList(msgspec.Struct, kw_only=True):
    fields: list[CustomFieldView]


def custom_field_list(fields: CustomFieldSet) -> CustomFieldList:
    return CustomFieldList(
        fields=[
            CustomFieldView(
                key=field.key, label=field.label, type=field.type.value, options=list(field.options)
            )
            for field in fields.fields
        ]
    )


class SegmentView(msgspec.Struct, kw_only=True):
    id: str
    name: str
    filters: dict[str, Any]
    lead_count: int
    created_at: str
    updated_at: str


class ExportChunk(msgspec.Struct, kw_only=True):
    """CSV text of one export chunk; ``after`` is where the next starts (None: the end)."""

    text: str
    after: UUID | None
