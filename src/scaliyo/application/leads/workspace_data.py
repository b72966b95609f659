"""What lead handlers read about their workspace: the pipeline, the ideal customer profile,
and checks that a filter or a change names things that exist."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from scaliyo.application.leads.errors import field_errors
from scaliyo.application.leads.filters import LeadFilter
from scaliyo.application.leads.ports import LeadsUnitOfWork
from scaliyo.application.shared.ports import IdFactory
from scaliyo.domain.leads.icp import IdealCustomerProfile, default_icp
from scaliyo.domain.leads.lead import Lead
from scaliyo.domain.leads.pipeline import Pipeline, default_pipeline
from scaliyo.domain.leads.scoring import LeadScore, score
from scaliyo.domain.shared.errors import FieldError, ValidationFailed
from scaliyo.domain.shared.events import Event
from scaliyo.domain.shared.ids import UserId


async def start_pipeline(uow: LeadsUnitOfWork, ids: IdFactory) -> Pipeline:
    """Give a new workspace the default pipeline (New, Contacted, Qualified, Proposal, Won,
    Lost). Call it in the transaction that creates the workspace, once it is scoped to it."""
    return await uow.pipeline.create(default_pipeline(ids.new))


async def pipeline_of(uow: LeadsUnitOfWork, ids: IdFactory) -> Pipeline:
    """The workspace's pipeline. A workspace without one (made before leads existed, or by a
    path that did not call ``start_pipeline``) gets the default one now."""
    pipeline = await uow.pipeline.get()
    if pipeline is None:
        pipeline = await start_pipeline(uow, ids)
    return pipeline


async def icp_of(uow: LeadsUnitOfWork) -> tuple[IdealCustomerProfile, bool]:
    """The workspace's ICP, and whether it is the default made from onboarding's answers."""
    icp = await uow.icp.get()
    if icp is not None:
        return icp, False
    onboarding = await uow.onboarding.get()
    industry = onboarding.company.industry if onboarding.company else None
    return default_icp(industry), True


def score_of(lead_profile, icp: IdealCustomerProfile, now: datetime) -> LeadScore:
    """The score of a profile. Engagement comes from tracked events, which the tracking
    context feeds later; until then it counts none."""
    return score(lead_profile, icp, (), now)


def rescore(lead: Lead, icp: IdealCustomerProfile, now: datetime) -> tuple[Lead, list[Event]]:
    return lead.rescore(score_of(lead.profile, icp, now))


async def check_owner(uow: LeadsUnitOfWork, owner_id: UUID | None, *, field: str) -> None:
    """An owner must be a member of the workspace (``unknown_owner``)."""
    if owner_id is None:
        return
    if await uow.memberships.get(UserId(owner_id)) is None:
        message = "No member of this workspace has this id."
        raise ValidationFailed(message, errors=[FieldError(field, "unknown_owner", message)])


async def check_references(
    uow: LeadsUnitOfWork, lead_filter: LeadFilter, pipeline: Pipeline, *, prefix: str = ""
) -> None:
    """A filter given with a request names existing stages, tags in use, members and
    imports."""
    errors: list[FieldError] = []
    stage_ids = set(pipeline.ids)
    many = len(lead_filter.statuses) > 1
    for index, status in enumerate(lead_filter.statuses):
        if status not in stage_ids:
            field = f"{prefix}status[{index}]" if many else f"{prefix}status"
            errors.append(FieldError(field, "unknown_status", "No such pipeline stage."))
    many = len(lead_filter.tags) > 1
    for index, key in enumerate(lead_filter.tags):
        if not await uow.leads.tag_in_use(key):
            field = f"{prefix}tag[{index}]" if many else f"{prefix}tag"
            errors.append(FieldError(field, "unknown_tag", "No lead has this tag."))
    many = len(lead_filter.owners) > 1
    for index, owner in enumerate(lead_filter.owners):
        if await uow.memberships.get(UserId(owner)) is None:
            field = f"{prefix}owner[{index}]" if many else f"{prefix}owner"
            errors.append(FieldError(field, "unknown_owner", "No member has this id."))
    many = len(lead_filter.imports) > 1
    for index, import_id in enumerate(lead_filter.imports):
        if not await uow.lead_imports.exists(import_id):
            field = f"{prefix}import_id[{index}]" if many else f"{prefix}import_id"
            errors.append(FieldError(field, "unknown_import", "No import has this id."))
    field_errors(errors, "The filter names things that do not exist.")
