"""The workspace's lead settings: pipeline stages, the ideal customer profile and custom field
definitions. Each docstring lists the rules it enforces on top of the domain's."""

from __future__ import annotations

from uuid import UUID

import msgspec

from scaliyo.application.bus import Context
from scaliyo.application.identity.actors import require_permission
from scaliyo.application.leads.bulk import queue_rescore
from scaliyo.application.leads.commands import (
    AddStage,
    DeleteStage,
    GetCustomFields,
    GetIcp,
    ListStages,
    PutCustomFields,
    PutIcp,
    UpdateStage,
)
from scaliyo.application.leads.errors import StageNotFound, field_errors
from scaliyo.application.leads.ports import LeadsUnitOfWork
from scaliyo.application.leads.views import (
    CustomFieldList,
    IcpView,
    StageList,
    StageView,
    custom_field_list,
    icp_view,
    stage_list,
    stage_view,
)
from scaliyo.application.leads.workspace_data import icp_of, pipeline_of
from scaliyo.application.shared.ports import Clock, IdFactory
from scaliyo.domain.identity.roles import Permission
from scaliyo.domain.leads.custom_fields import CustomFieldSet, define_custom_field
from scaliyo.domain.leads.events import IdealCustomerProfileChanged, PipelineChanged
from scaliyo.domain.leads.icp import clean_icp
from scaliyo.domain.leads.pipeline import Pipeline
from scaliyo.domain.shared.errors import FieldError, ValidationFailed
from scaliyo.domain.shared.ids import WorkspaceId


def _workspace(context: Context) -> WorkspaceId:
    assert context.workspace_id is not None
    return context.workspace_id


def _stage_id(raw: str, pipeline: Pipeline) -> UUID:
    """A stage of this pipeline; anything else (another workspace's, malformed) is 404."""
    try:
        stage_id = UUID(raw)
    except (ValueError, TypeError, AttributeError):
        raise StageNotFound() from None
    if stage_id not in pipeline.ids:
        raise StageNotFound()
    return stage_id


async def _locked_pipeline(uow: LeadsUnitOfWork, ids: IdFactory) -> Pipeline:
    pipeline = await uow.pipeline.lock()
    return pipeline if pipeline is not None else await pipeline_of(uow, ids)


def _changed(context: Context, pipeline: Pipeline) -> PipelineChanged:
    workspace = _workspace(context)
    return PipelineChanged(workspace_id=workspace, aggregate_id=workspace, stage_ids=pipeline.ids)


class ListStagesHandler:
    """The pipeline's stages in order, with how many live leads each holds. Rules: any
    member."""

    def __init__(self, ids: IdFactory) -> None:
        self._ids = ids

    async def __call__(
        self, message: ListStages, uow: LeadsUnitOfWork, context: Context
    ) -> StageList:
        require_permission(context, Permission.LEADS_READ)
        pipeline = await pipeline_of(uow, self._ids)
        return stage_list(pipeline, await uow.leads.stage_counts())


class AddStageHandler:
    """Add a stage (at the end, or at ``position``). Rules: admins and owners
    (``settings.manage``); the domain's name, colour and size rules; edits of one pipeline run
    one at a time; ``PipelineChanged``."""

    def __init__(self, ids: IdFactory) -> None:
        self._ids = ids

    async def __call__(
        self, message: AddStage, uow: LeadsUnitOfWork, context: Context
    ) -> StageView:
        require_permission(context, Permission.SETTINGS_MANAGE)
        pipeline = await _locked_pipeline(uow, self._ids)
        stage_id = self._ids.new()
        new = message.stage
        pipeline = pipeline.add(id=stage_id, name=new.name, color=new.color, position=new.position)
        await uow.pipeline.save(pipeline)
        uow.record(_changed(context, pipeline))
        await uow.commit()
        position = pipeline.position(stage_id)
        return stage_view(pipeline.stages[position], position, {})


class UpdateStageHandler:
    """Rename, recolour or move a stage. Rules: admins and owners; a stage of another
    workspace is ``stage_not_found``; names stay unique ignoring case; positions stay 0..n-1;
    ``PipelineChanged`` when something changed."""

    def __init__(self, ids: IdFactory) -> None:
        self._ids = ids

    async def __call__(
        self, message: UpdateStage, uow: LeadsUnitOfWork, context: Context
    ) -> StageView:
        require_permission(context, Permission.SETTINGS_MANAGE)
        pipeline = before = await _locked_pipeline(uow, self._ids)
        stage_id = _stage_id(message.stage_id, pipeline)
        changes = message.changes
        if changes.name is not msgspec.UNSET:
            pipeline = pipeline.rename(stage_id, changes.name)
        if changes.color is not msgspec.UNSET:
            pipeline = pipeline.recolour(stage_id, changes.color)
        if changes.position is not msgspec.UNSET:
            pipeline = pipeline.move(stage_id, changes.position)
        position = pipeline.position(stage_id)
        view = stage_view(pipeline.stages[position], position, await uow.leads.stage_counts())
        if pipeline != before:
            await uow.pipeline.save(pipeline)
            uow.record(_changed(context, pipeline))
            await uow.commit()
        return view


class DeleteStageHandler:
    """Delete a stage. Rules: admins and owners; a stage that holds leads (deleted ones too:
    they keep their stage when restored) needs a ``target`` stage for them (``stage_in_use``),
    and they all move there in one statement; the last stage stays (``last_stage``);
    ``PipelineChanged`` (moved leads get no per-lead event: reorganising the pipeline is not a
    lead's status change)."""

    def __init__(self, clock: Clock, ids: IdFactory) -> None:
        self._clock = clock
        self._ids = ids

    async def __call__(self, message: DeleteStage, uow: LeadsUnitOfWork, context: Context) -> None:
        require_permission(context, Permission.SETTINGS_MANAGE)
        pipeline = await _locked_pipeline(uow, self._ids)
        stage_id = _stage_id(message.stage_id, pipeline)
        in_stage = await uow.leads.count_in_stage(stage_id)
        deletion = pipeline.delete(stage_id, leads_in_stage=in_stage, target=message.target)
        if deletion.move_leads_to is not None and in_stage:
            await uow.leads.move_stage(stage_id, deletion.move_leads_to, self._clock.now())
        await uow.pipeline.save(deletion.pipeline)
        uow.record(_changed(context, deletion.pipeline))
        await uow.commit()


class GetIcpHandler:
    """The ideal customer profile. Rules: any member; until one is saved, the default made from
    onboarding's industry (``defaulted``: true)."""

    async def __call__(self, message: GetIcp, uow: LeadsUnitOfWork, context: Context) -> IcpView:
        require_permission(context, Permission.LEADS_READ)
        icp, defaulted = await icp_of(uow)
        return icp_view(icp, defaulted=defaulted)


class PutIcpHandler:
    """Replace the ideal customer profile. Rules: admins and owners; every list is checked and
    de-duplicated (errors name the entry, ``titles[2]``); when it changes,
    ``IdealCustomerProfileChanged`` and a ``leads.bulk`` re-score job for every lead, whose id
    the answer carries."""

    def __init__(self, clock: Clock, ids: IdFactory) -> None:
        self._clock = clock
        self._ids = ids

    async def __call__(self, message: PutIcp, uow: LeadsUnitOfWork, context: Context) -> IcpView:
        require_permission(context, Permission.SETTINGS_MANAGE)
        now = self._clock.now()
        icp = clean_icp(message.icp)
        current, defaulted = await icp_of(uow)
        if icp == current and not defaulted:
            return icp_view(icp)
        await uow.icp.save(icp, now)
        job_id = None
        if icp != current:
            workspace = _workspace(context)
            uow.record(IdealCustomerProfileChanged(workspace_id=workspace, aggregate_id=workspace))
            job = await queue_rescore(uow, context, self._ids, now)
            job_id = str(job.id)
        await uow.commit()
        return icp_view(icp, rescore_job_id=job_id)


class GetCustomFieldsHandler:
    """The workspace's custom field definitions, in order. Rules: any member."""

    async def __call__(
        self, message: GetCustomFields, uow: LeadsUnitOfWork, context: Context
    ) -> CustomFieldList:
        require_permission(context, Permission.LEADS_READ)
        return custom_field_list(await uow.custom_fields.get())


class PutCustomFieldsHandler:
    """Replace the custom field definitions. Rules: admins and owners; keys ``[a-z][a-z0-9_]``
    up to 40, unique; single-select fields have 1-100 options; at most 100 fields; errors name
    the entry (``fields[1].key``). Stored values of a removed or retyped field are dropped
    from a lead the next time it changes, where they no longer fit."""

    async def __call__(
        self, message: PutCustomFields, uow: LeadsUnitOfWork, context: Context
    ) -> CustomFieldList:
        require_permission(context, Permission.SETTINGS_MANAGE)
        errors: list[FieldError] = []
        definitions = []
        seen: set[str] = set()
        for index, given in enumerate(message.fields):
            try:
                definition = define_custom_field(
                    key=given.key, label=given.label, type=given.type, options=given.options
                )
            except ValidationFailed as error:
                errors.extend(
                    FieldError(f"fields[{index}].{e.field}", e.code, e.message)
                    for e in error.errors
                )
                continue
            if definition.key in seen:
                errors.append(
                    FieldError(f"fields[{index}].key", "duplicate_key", "Keys are unique.")
                )
                continue
            seen.add(definition.key)
            definitions.append(definition)
        if len(message.fields) > 100:
            errors.append(FieldError("fields", "too_many", "At most 100 custom fields."))
        field_errors(errors, "Some custom fields are not valid.")
        fields = CustomFieldSet(fields=tuple(definitions))
        await uow.custom_fields.replace(fields)
        await uow.commit()
        return custom_field_list(fields)
