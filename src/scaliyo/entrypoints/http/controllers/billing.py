"""``/api/v1/billing``: the plans on sale, the workspace's subscription and its usage.

Status codes of billing refusals, wherever they are raised (AI work, sending, limits):
- 402 Payment Required: ``trial_ended`` (the free trial ran out unpaid: AI work and sending
  stop, data stays), ``subscription_inactive`` (ended or unpaid subscription) and
  ``insufficient_credits`` (the reservation cannot be covered) — paying fixes each of them;
- 409 ``limit_reached``: a plan limit (contacts, seats, e-mails, LinkedIn actions, storage).
"""

from __future__ import annotations

from dishka.integrations.litestar import FromDishka, inject
from litestar import get

from scaliyo.application.billing.commands import (
    GetSubscription,
    GetUsage,
    ListPlans,
    PlansView,
    SubscriptionView,
    UsageView,
)
from scaliyo.application.bus import Bus, Context
from scaliyo.domain.billing.subscriptions import SubscriptionInactive, TrialEnded
from scaliyo.domain.credits.ledger import InsufficientCredits
from scaliyo.entrypoints.http.auth import PublicContext
from scaliyo.entrypoints.http.problems import (
    WORKSPACE_ROUTE_PROBLEMS,
    problem_responses,
    register_status,
)

PAYMENT_REQUIRED = 402
for _error in (TrialEnded, SubscriptionInactive, InsufficientCredits):
    register_status(_error, PAYMENT_REQUIRED)


@get(
    "/billing/plans",
    tags=["billing"],
    responses=problem_responses(400),
    summary="The plans on sale: prices (monthly, annual at 15 % off), limits and features",
)
@inject
async def list_plans(bus: FromDishka[Bus], context: FromDishka[PublicContext]) -> PlansView:
    return await bus.execute(ListPlans(), context)


@get(
    "/billing/subscription",
    tags=["billing"],
    responses=WORKSPACE_ROUTE_PROBLEMS,
    summary="The workspace's plan, status, trial end and period, and what it allows now",
)
@inject
async def get_subscription(bus: FromDishka[Bus], context: FromDishka[Context]) -> SubscriptionView:
    return await bus.execute(GetSubscription(), context)


@get(
    "/billing/usage",
    tags=["billing"],
    responses=WORKSPACE_ROUTE_PROBLEMS,
    summary="Every usage counter of the current periods, with its limit",
)
@inject
async def get_usage(bus: FromDishka[Bus], context: FromDishka[Context]) -> UsageView:
    return await bus.execute(GetUsage(), context)


route_handlers = [list_plans, get_subscription, get_usage]
