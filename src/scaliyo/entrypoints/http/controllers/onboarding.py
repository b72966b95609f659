"""``/api/v1/onboarding``: the workspace's four onboarding steps."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import get, put
from litestar.params import FromPath, JSONBody

from scaliyo.application.bus import Bus, Context
from scaliyo.application.identity.workspace_admin import (
    GetOnboarding,
    OnboardingView,
    SaveOnboardingStep,
)
from scaliyo.domain.identity.onboarding import STEPS
from scaliyo.domain.shared.errors import FieldError, ValidationFailed
from scaliyo.entrypoints.http.problems import WORKSPACE_ROUTE_PROBLEMS, problem_responses

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_NAMED = re.compile(r"^Object (missing required|contains unknown) field `([^`]+)`")


@get(
    "/onboarding",
    tags=["onboarding"],
    responses=WORKSPACE_ROUTE_PROBLEMS,
    summary="The workspace's onboarding: saved steps and the next one",
)
@inject
async def get_onboarding(bus: FromDishka[Bus], context: FromDishka[Context]) -> OnboardingView:
    return await bus.execute(GetOnboarding(), context)


@put(
    "/onboarding/{step:int}",
    tags=["onboarding"],
    responses={**WORKSPACE_ROUTE_PROBLEMS, **problem_responses(403, 409)},
    summary="Save an onboarding step (1 role and team size; 2 company; 3 goal; 4 finish)",
    description=(
        "Step 1: `{role: sdr_bdr|revops|agency|founder, team_size: 1|2-10|11-50|51-200|201+}`; "
        "step 2: `{company_name, website?, industry?}`; step 3: `{primary_goal: "
        "leads|scoring|outreach|visibility}`; step 4: `{}` (needs steps 1–3 first)."
    ),
)
@inject
async def save_onboarding_step(
    step: FromPath[int],
    data: JSONBody[dict[str, Any]],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
) -> OnboardingView:
    step_type = STEPS.get(step)
    if step_type is None:
        raise ValidationFailed(
            "Onboarding has steps 1 to 4.",
            errors=[FieldError("step", "unknown_step", "Steps are 1 to 4.")],
        )
    try:
        step_data = msgspec.convert(data, type=step_type, strict=True)
    except msgspec.ValidationError as error:
        raise _validation_failed(error) from None
    return await bus.execute(SaveOnboardingStep(step=step, data=step_data), context)


def _validation_failed(error: msgspec.ValidationError) -> ValidationFailed:
    """msgspec's message as a field error: ``Expected `str`, got `int` - at `$.website```."""
    match = _AT.match(str(error))
    message = match.group("message") if match else str(error)
    path = (match.group("path") or "").lstrip(".") if match else ""
    if named := _NAMED.match(message):
        field = f"{path}.{named.group(2)}" if path else named.group(2)
        code = "required" if named.group(1) == "missing required" else "unknown_field"
    else:
        field = path or "body"
        code = "invalid_choice" if message.startswith("Invalid enum value") else "invalid"
        if message.startswith("Expected `"):
            code = "invalid_type"
    return ValidationFailed(f"Check {field}: {message}", errors=[FieldError(field, code, message)])


route_handlers = [get_onboarding, save_onboarding_step]
