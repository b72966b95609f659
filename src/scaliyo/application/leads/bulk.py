"""Bulk actions on leads: tag, untag, set status, assign owner, delete, restore (and the
re-score that follows an ICP change), on a list of ids or on everything a filter selects.

Rules:
- members and above (``leads.write``); ``ids`` (at most 1,000; unknown ones and another
  workspace's are simply not matched) or a ``filter`` and/or ``segment``, not both kinds;
- the action is checked before anything runs: tags for tag/untag (untag: tags in use), a stage
  of the pipeline for set_status (``unknown_status``), a member or null for assign
  (``unknown_owner``);
- delete and assign, tag, untag, set_status act on live leads; restore on deleted ones;
- up to ``inline_max`` (1,000) selected leads are changed at once, in the request's
  transaction; more run as a ``data-processing`` job (``leads.bulk``) whose progress is the
  number of leads worked through. A filter selects the leads that exist when the request is
  made: the job's snapshot is every id up to one taken then (UUIDv7s grow with time), so
  leads added while it runs are left alone;
- each lead changes as the domain says, with its events (locked rows, id order); a lead that
  cannot take the change (a 101st tag) is skipped and counted;
- deleting frees contacts; restoring counts them again, all of a chunk or none
  (``contact_limit_reached``).
A job works in chunks of ``CHUNK`` leads, one transaction each; after a crash it starts over
and the chunks already done change nothing (every action is idempotent).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from scaliyo.application.bus import Context
from scaliyo.application.identity.actors import require_permission
from scaliyo.application.jobs.execution import JobContext, JobError
from scaliyo.application.jobs.handlers import job_view
from scaliyo.application.leads.commands import BulkLeads, BulkRequest
from scaliyo.application.leads.errors import ContactLimitReached, field_errors
from scaliyo.application.leads.filters import EVERYTHING, LeadFilter, LeadFilterInput
from scaliyo.application.leads.lead_handlers import admit_contacts, give_back_contacts
from scaliyo.application.leads.ports import LeadsUnitOfWork, Selection
from scaliyo.application.leads.query_handlers import segment_filter, selection_of
from scaliyo.application.leads.views import BulkResult
from scaliyo.application.leads.workspace_data import check_owner, icp_of, pipeline_of, rescore
from scaliyo.application.shared.ports import Clock, IdFactory, UnitOfWorkFactory
from scaliyo.domain.identity.roles import Permission
from scaliyo.domain.jobs.job import Job, Queue
from scaliyo.domain.leads.icp import IdealCustomerProfile
from scaliyo.domain.leads.lead import Lead
from scaliyo.domain.leads.pipeline import Pipeline
from scaliyo.domain.leads.tags import clean_tags, tag_key
from scaliyo.domain.shared.errors import FieldError, ValidationFailed
from scaliyo.domain.shared.events import Event
from scaliyo.domain.shared.ids import JobId, UserId, WorkspaceId

BULK_JOB_TYPE = "leads.bulk"
INLINE_MAX = 1000
MAX_IDS = 1000
CHUNK = 500

ActionName = Literal["tag", "untag", "set_status", "assign", "delete", "restore", "rescore"]


class BulkAction(msgspec.Struct, frozen=True, kw_only=True):
    name: ActionName
    tags: tuple[str, ...] = ()
    status: UUID | None = None
    owner_id: UUID | None = None

    @property
    def on_deleted(self) -> bool:
        return self.name == "restore"


class BulkJobParams(msgspec.Struct, frozen=True, kw_only=True):
    action: BulkAction
    filters: tuple[LeadFilter, ...] = ()
    deleted: bool = False
    until: UUID


class Outcome(msgspec.Struct, kw_only=True):
    affected: int = 0
    skipped: int = 0


async def parse_action(
    request: BulkRequest, uow: LeadsUnitOfWork, pipeline: Pipeline
) -> BulkAction:
    name = request.action
    if name in ("tag", "untag"):
        if not request.tags:
            raise _required("tags", "Name at least one tag.")
        tags = clean_tags(request.tags)
        if name == "untag":
            errors = [
                FieldError(f"tags[{i}]", "unknown_tag", "No lead has this tag.")
                for i, tag in enumerate(tags)
                if not await uow.leads.tag_in_use(tag_key(tag))
            ]
            field_errors(errors, "Some tags are not in use.")
        return BulkAction(name=name, tags=tags)
    if name == "set_status":
        if request.status is None:
            raise _required("status", "Name the stage to move the leads to.")
        return BulkAction(name=name, status=pipeline.stage(request.status).id)
    if name == "assign":
        if request.owner_id is msgspec.UNSET:
            raise _required("owner_id", "Name the new owner (null: nobody).")
        await check_owner(uow, request.owner_id, field="owner_id")
        return BulkAction(name=name, owner_id=request.owner_id)
    return BulkAction(name=name)


def _required(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldError(field, "required", message)])


def _changed(
    lead: Lead, action: BulkAction, pipeline: Pipeline, icp: IdealCustomerProfile | None, now
) -> tuple[Lead, list[Event]]:
    match action.name:
        case "tag":
            return lead.add_tags(action.tags, now)
        case "untag":
            return lead.remove_tags(action.tags, now)
        case "set_status":
            assert action.status is not None
            return lead.change_status(action.status, pipeline, now)
        case "assign":
            owner = None if action.owner_id is None else UserId(action.owner_id)
            return lead.assign(owner, now)
        case "delete":
            return lead.delete(now)
        case "restore":
            return lead.restore(now)
        case "rescore":
            assert icp is not None
            return rescore(lead, icp, now)


async def apply_action(
    uow: LeadsUnitOfWork,
    leads: list[Lead],
    action: BulkAction,
    pipeline: Pipeline,
    now: datetime,
) -> Outcome:
    """Change the (locked) leads, count or free their contacts, write them, record events."""
    icp = (await icp_of(uow))[0] if action.name == "rescore" else None
    outcome = Outcome()
    changed: list[Lead] = []
    events: list[Event] = []
    for lead in leads:
        try:
            new, lead_events = _changed(lead, action, pipeline, icp, now)
        except ValidationFailed:
            outcome.skipped += 1
            continue
        if new != lead:
            changed.append(new)
            events.extend(lead_events)
    if action.name == "restore":
        await admit_contacts(uow, len(changed), now)
    elif action.name == "delete":
        await give_back_contacts(uow, len(changed), now)
    await uow.leads.save_many(
        changed,
        tags=action.name in {"tag", "untag", "delete", "restore"},
        terms=action.name in {"delete", "restore"},
    )
    uow.record(*events)
    outcome.affected = len(changed)
    return outcome


def _ids(raw: list[str]) -> list[UUID]:
    if len(raw) > MAX_IDS:
        message = f"At most {MAX_IDS} ids; use a filter for more."
        raise ValidationFailed(message, errors=[FieldError("ids", "too_many", message)])
    ids: list[UUID] = []
    errors: list[FieldError] = []
    for index, value in enumerate(raw):
        try:
            ids.append(UUID(value))
        except (ValueError, AttributeError, TypeError):
            errors.append(FieldError(f"ids[{index}]", "invalid_id", "Not a lead id."))
    field_errors(errors, "Some ids are not lead ids.")
    return list(dict.fromkeys(ids))


class BulkLeadsHandler:
    """Run a bulk action inline or queue it as a job (rules: the module's docstring)."""

    def __init__(self, clock: Clock, ids: IdFactory, *, inline_max: int = INLINE_MAX) -> None:
        self._clock = clock
        self._ids = ids
        self._inline_max = inline_max

    async def __call__(
        self, message: BulkLeads, uow: LeadsUnitOfWork, context: Context
    ) -> BulkResult:
        require_permission(context, Permission.LEADS_WRITE)
        request = message.request
        now = self._clock.now()
        by_filter = request.filter is not None or request.segment is not None
        if (request.ids is not None) == by_filter:
            raise _required("ids", "Give either ids or a filter (and/or a segment).")
        pipeline = await pipeline_of(uow, self._ids)
        action = await parse_action(request, uow, pipeline)
        if request.ids is not None:
            leads = await uow.leads.lock_ids(_ids(request.ids), deleted=action.on_deleted)
            outcome = await apply_action(uow, leads, action, pipeline, now)
            await uow.commit()
            return _inline(len(leads), outcome)
        selection = await selection_of(
            uow,
            pipeline,
            request.filter or LeadFilterInput(),
            request.segment,
            deleted=action.on_deleted,
            prefix="filter." if request.filter is not None else "",
        )
        selection = msgspec.structs.replace(selection, until=self._ids.new())
        matched = await uow.leads.count(selection)
        if matched <= self._inline_max:
            leads = await uow.leads.lock_page(selection, after=None, limit=self._inline_max + 1)
            if len(leads) <= self._inline_max:
                outcome = await apply_action(uow, leads, action, pipeline, now)
                await uow.commit()
                return _inline(len(leads), outcome)
            matched = len(leads)
        job = await queue_bulk_job(uow, context, self._ids, now, action, selection)
        await uow.commit()
        return BulkResult(mode="job", matched=matched, job=job_view(job))


def _inline(matched: int, outcome: Outcome) -> BulkResult:
    return BulkResult(
        mode="inline", matched=matched, affected=outcome.affected, skipped=outcome.skipped
    )


async def queue_bulk_job(
    uow: LeadsUnitOfWork,
    context: Context,
    ids: IdFactory,
    now: datetime,
    action: BulkAction,
    selection: Selection,
) -> Job:
    assert context.workspace_id is not None
    assert selection.until is not None
    params = BulkJobParams(
        action=action, filters=selection.filters, deleted=selection.deleted, until=selection.until
    )
    job = Job.queue_new(
        id=JobId(ids.new()),
        workspace_id=context.workspace_id,
        queue=Queue.DATA_PROCESSING,
        type=BULK_JOB_TYPE,
        params=msgspec.to_builtins(params),
        now=now,
    )
    await uow.jobs.add(job)
    return job


async def queue_rescore(
    uow: LeadsUnitOfWork, context: Context, ids: IdFactory, now: datetime
) -> Job:
    """Re-score every live lead (after the ICP changed) as a job."""
    selection = Selection(filters=(EVERYTHING,), until=ids.new())
    return await queue_bulk_job(uow, context, ids, now, BulkAction(name="rescore"), selection)


async def run_bulk_job(
    job: JobContext, uow_factory: UnitOfWorkFactory, clock: Clock, ids: IdFactory
) -> dict[str, Any]:
    """The ``leads.bulk`` job: the action on every selected lead, a chunk per transaction."""
    try:
        params = msgspec.convert(job.params, BulkJobParams)
    except msgspec.ValidationError as error:
        raise JobError(f"The job's parameters are not valid: {error}", retryable=False) from None
    workspace = WorkspaceId(job.workspace_id)
    selection = Selection(filters=params.filters, deleted=params.deleted, until=params.until)
    async with uow_factory(workspace) as uow:
        total = await uow.leads.count(selection)  # type: ignore[attr-defined]
    await job.report_progress(0, total)
    after: UUID | None = None
    processed = 0
    outcome = Outcome()
    while True:
        async with uow_factory(workspace) as uow:
            leads_uow: LeadsUnitOfWork = uow  # type: ignore[assignment]
            leads = await leads_uow.leads.lock_page(selection, after=after, limit=CHUNK)
            if not leads:
                break
            pipeline = await pipeline_of(leads_uow, ids)
            try:
                done = await apply_action(leads_uow, leads, params.action, pipeline, clock.now())
            except ContactLimitReached as refused:
                raise JobError(refused.detail, retryable=False) from None
            await leads_uow.commit()
        outcome.affected += done.affected
        outcome.skipped += done.skipped
        processed += len(leads)
        after = leads[-1].id
        total = max(total, processed)
        await job.report_progress(processed, total)
    return {"matched": processed, "affected": outcome.affected, "skipped": outcome.skipped}


__all__ = [
    "BULK_JOB_TYPE",
    "BulkAction",
    "BulkLeadsHandler",
    "apply_action",
    "queue_rescore",
    "run_bulk_job",
    "segment_filter",
]
