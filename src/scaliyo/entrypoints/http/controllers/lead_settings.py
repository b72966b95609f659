"""The workspace's lead settings: ``/api/v1/pipeline/stages`` (the colour-coded pipeline a
lead's status is a stage of), ``/api/v1/settings/icp`` (the ideal customer profile scores
follow) and ``/api/v1/settings/custom-fields`` (typed custom fields of leads)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import delete, get, patch, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from scaliyo.application.bus import Bus, Context
from scaliyo.application.leads.commands import (
    AddStage,
    CustomFieldsInput,
    DeleteStage,
    GetCustomFields,
    GetIcp,
    IcpBody,
    ListStages,
    NewStage,
    PutCustomFields,
    PutIcp,
    StageChanges,
    UpdateStage,
)
from scaliyo.application.leads.views import CustomFieldList, IcpView, StageList, StageView
from scaliyo.entrypoints.http.problems import WORKSPACE_ROUTE_PROBLEMS, problem_responses

SETTINGS_PROBLEMS = {**WORKSPACE_ROUTE_PROBLEMS, **problem_responses(403, 409)}


@get(
    "/pipeline/stages",
    tags=["pipeline"],
    responses=SETTINGS_PROBLEMS,
    summary="The pipeline's stages in order, with live lead counts",
)
@inject
async def list_stages(bus: FromDishka[Bus], context: FromDishka[Context]) -> StageList:
    return await bus.execute(ListStages(), context)


@post(
    "/pipeline/stages",
    tags=["pipeline"],
    responses=SETTINGS_PROBLEMS,
    summary="Add a stage (admins and owners)",
)
@inject
async def add_stage(
    data: JSONBody[NewStage], bus: FromDishka[Bus], context: FromDishka[Context]
) -> StageView:
    return await bus.execute(AddStage(stage=data), context)


@patch(
    "/pipeline/stages/{stage_id:str}",
    tags=["pipeline"],
    responses=SETTINGS_PROBLEMS,
    summary="Rename, recolour or move a stage (admins and owners)",
)
@inject
async def update_stage(
    stage_id: FromPath[str],
    data: JSONBody[StageChanges],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
) -> StageView:
    return await bus.execute(UpdateStage(stage_id=stage_id, changes=data), context)


@delete(
    "/pipeline/stages/{stage_id:str}",
    tags=["pipeline"],
    responses=SETTINGS_PROBLEMS,
    summary="Delete a stage; its leads move to `target` (required when it has any)",
)
@inject
async def delete_stage(
    stage_id: FromPath[str],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    target: Annotated[
        UUID | None, QueryParameter(description="The stage the leads move to.")
    ] = None,
) -> None:
    await bus.execute(DeleteStage(stage_id=stage_id, target=target), context)


@get(
    "/settings/icp",
    tags=["settings"],
    responses=SETTINGS_PROBLEMS,
    summary="The ideal customer profile lead scores follow",
)
@inject
async def get_icp(bus: FromDishka[Bus], context: FromDishka[Context]) -> IcpView:
    return await bus.execute(GetIcp(), context)


@put(
    "/settings/icp",
    tags=["settings"],
    responses=SETTINGS_PROBLEMS,
    summary="Replace the ideal customer profile; every lead is re-scored by a job",
)
@inject
async def put_icp(
    data: JSONBody[IcpBody], bus: FromDishka[Bus], context: FromDishka[Context]
) -> IcpView:
    return await bus.execute(PutIcp(icp=data.to_input()), context)


@get(
    "/settings/custom-fields",
    tags=["settings"],
    responses=SETTINGS_PROBLEMS,
    summary="The custom fields leads have",
)
@inject
async def get_custom_fields(bus: FromDishka[Bus], context: FromDishka[Context]) -> CustomFieldList:
    return await bus.execute(GetCustomFields(), context)


@put(
    "/settings/custom-fields",
    tags=["settings"],
    responses=SETTINGS_PROBLEMS,
    summary="Replace the custom field definitions (admins and owners)",
)
@inject
async def put_custom_fields(
    data: JSONBody[CustomFieldsInput], bus: FromDishka[Bus], context: FromDishka[Context]
) -> CustomFieldList:
    return await bus.execute(PutCustomFields(fields=data.fields), context)


route_handlers = [
    list_stages,
    add_stage,
    update_stage,
    delete_stage,
    get_icp,
    put_icp,
    get_custom_fields,
    put_custom_fields,
]
