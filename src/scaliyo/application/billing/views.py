"""Plans and subscriptions as the API shows them."""

from __future__ import annotations

from datetime import datetime

from scaliyo.application.billing.commands import (
    AccessView,
    LimitsView,
    PlanView,
    SubscriptionView,
)
from scaliyo.application.shared.time import rfc3339, rfc3339_or_none
from scaliyo.domain.billing.plans import Plan, PlanLimits, known_features
from scaliyo.domain.billing.subscriptions import Subscription, trial_days_left


def limits_view(limits: PlanLimits) -> LimitsView:
    return LimitsView(
        ai_credits=limits.ai_credits,
        contacts=limits.contacts,
        emails_per_month=limits.emails_per_month,
        emails_per_day=limits.emails_per_day,
        seats=limits.seats,
        storage_mb=limits.storage_mb,
        linkedin_actions_per_day=limits.linkedin_actions_per_day,
        linkedin_actions_per_month=limits.linkedin_actions_per_month,
    )


def plan_view(plan: Plan) -> PlanView:
    return PlanView(
        code=plan.code,
        name=plan.name,
        currency=plan.currency,
        monthly_price_cents=plan.monthly_price_cents,
        annual_price_cents=plan.annual_price_cents,
        limits=limits_view(plan.limits),
        features=known_features(plan.features),
    )


def subscription_view(subscription: Subscription, plan: Plan, now: datetime) -> SubscriptionView:
    access = subscription.access(now)
    return SubscriptionView(
        plan=plan_view(plan),
        status=subscription.status.value,
        interval=subscription.interval.value,
        source=subscription.source.value,
        current_period_start=rfc3339(subscription.current_period_start),
        current_period_end=rfc3339(subscription.current_period_end),
        cancel_at_period_end=subscription.cancel_at_period_end,
        extra_seats=subscription.extra_seats,
        features=known_features(subscription.features(plan)),
        limits=limits_view(subscription.limits(plan)),
        access=AccessView(ai=access.ai, sending=access.sending),
        blocked_reason=access.blocked,
        trial_end=rfc3339_or_none(subscription.trial_end),
        trial_days_left=trial_days_left(subscription, now),
        pending_plan=subscription.pending_plan_code,
        ended_at=rfc3339_or_none(subscription.ended_at),
        ended_reason=None if subscription.ended_reason is None else subscription.ended_reason.value,
        grace_ends_at=rfc3339_or_none(subscription.grace_ends_at),
    )
