"""Billing commands, queries and their views."""

from __future__ import annotations

from typing import ClassVar

import msgspec

from scaliyo.application.bus import Command, Query
from scaliyo.domain.billing.plans import Interval

# --- views ----------------------------------------------------------------------------------


class LimitsView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A plan's limits; an absent limit means no limit."""

    ai_credits: int
    contacts: int | None = None
    emails_per_month: int | None = None
    emails_per_day: int | None = None
    seats: int | None = None
    storage_mb: int | None = None
    linkedin_actions_per_day: int | None = None
    linkedin_actions_per_month: int | None = None


class PlanView(msgspec.Struct, kw_only=True):
    code: str
    name: str
    currency: str
    monthly_price_cents: int
    annual_price_cents: int
    limits: LimitsView
    features: list[str]


class PlansView(msgspec.Struct, kw_only=True):
    items: list[PlanView]


class AccessView(msgspec.Struct, kw_only=True):
    ai: bool
    sending: bool


class SubscriptionView(msgspec.Struct, kw_only=True, omit_defaults=True):
    plan: PlanView
    status: str
    interval: str
    source: str
    current_period_start: str
    current_period_end: str
    cancel_at_period_end: bool
    extra_seats: int
    # What the workspace has now: every feature while trialing; bought seats added.
    features: list[str]
    limits: LimitsView
    access: AccessView
    # Why AI work and sending are refused: the error code they answer with.
    blocked_reason: str | None = None
    trial_end: str | None = None
    trial_days_left: int | None = None
    pending_plan: str | None = None
    ended_at: str | None = None
    ended_reason: str | None = None
    # Past due: when AI work and sending stop unless the payment goes through.
    grace_ends_at: str | None = None


class CounterView(msgspec.Struct, kw_only=True, omit_defaults=True):
    metric: str
    window: str
    used: int
    limit: int | None = None
    period: str | None = None
    resets_at: str | None = None


class SenderCounterView(msgspec.Struct, kw_only=True, omit_defaults=True):
    sender_id: str
    period: str
    used: int
    limit: int | None = None


class UsageView(msgspec.Struct, kw_only=True):
    plan: str
    status: str
    counters: list[CounterView]
    senders: list[SenderCounterView]


class SetPlanResult(msgspec.Struct, kw_only=True):
    """``outcome``: activated, upgraded, downgrade_scheduled or unchanged."""

    outcome: str
    subscription: SubscriptionView
    credits_added: int = 0


# --- messages -------------------------------------------------------------------------------


class ListPlans(Query, frozen=True, kw_only=True):
    """The plans on sale (no workspace needed)."""

    requires_workspace: ClassVar[bool] = False


class GetSubscription(Query, frozen=True, kw_only=True):
    pass


class GetUsage(Query, frozen=True, kw_only=True):
    pass


class SetPlan(Command, frozen=True, kw_only=True):
    """Operators: put the request's workspace on ``plan``."""

    plan: str
    interval: Interval = Interval.MONTH


class EndTrial(Command, frozen=True, kw_only=True):
    """The scheduler: end the workspace's trial if it has run out."""


class GrantPeriodCredits(Command, frozen=True, kw_only=True):
    """The scheduler: renew an operator-run period and grant the credit period's allowance."""
