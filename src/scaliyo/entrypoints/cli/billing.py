"""Operator commands on plans and credits, run through the bus as the OPERATOR actor (audited
by their handlers)."""

from __future__ import annotations

import sys
from typing import Any
from uuid import UUID

import click

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.settings import Settings
from scaliyo.application.billing.commands import SetPlan, SetPlanResult
from scaliyo.application.bus import OPERATOR, Bus, Context, Message
from scaliyo.application.credits.commands import CreditGrantResult, GrantCredits
from scaliyo.domain.billing.plans import Interval
from scaliyo.domain.shared.errors import DomainError
from scaliyo.domain.shared.ids import WorkspaceId
from scaliyo.entrypoints.container import build_container


async def _run(settings: Settings, workspace_id: UUID, message: Message) -> Any:
    container = build_container(settings=settings)
    try:
        bus = await container.get(Bus)
        context = Context(
            request_id=f"cli-{new_id()}", actor=OPERATOR, workspace_id=WorkspaceId(workspace_id)
        )
        try:
            return await bus.execute(message, context)
        except DomainError as error:
            click.echo(f"{error.code}: {error.detail}", err=True)
            sys.exit(1)
    finally:
        await container.close()


async def set_plan(
    settings: Settings, workspace_id: UUID, plan: str, interval: Interval
) -> SetPlanResult:
    return await _run(settings, workspace_id, SetPlan(plan=plan, interval=interval))


async def grant_credits(
    settings: Settings, workspace_id: UUID, amount: int, reason: str, operation_id: str | None
) -> CreditGrantResult:
    message = GrantCredits(amount=amount, reason=reason, operation_id=operation_id)
    return await _run(settings, workspace_id, message)
