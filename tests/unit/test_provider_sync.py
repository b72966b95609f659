"""Following a payment provider's subscription (domain/billing/provider_sync.py), and the grace
period of a failed payment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaliyo.domain.billing.periods import add_months
from scaliyo.domain.billing.plans import GROWTH, SCALE, STARTER, Interval
from scaliyo.domain.billing.provider_sync import Change, ProviderState, follow
from scaliyo.domain.billing.subscriptions import (
    PAYMENT_GRACE,
    EndReason,
    PaymentOverdue,
    Source,
    Subscription,
    SubscriptionStatus,
)
from scaliyo.domain.shared.ids import WorkspaceId

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
START = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
PLANS = {p.code: p for p in (STARTER, GROWTH, SCALE)}


def trial() -> Subscription:
    return Subscription.start_trial(WorkspaceId(uuid4()), NOW - timedelta(days=3))


def state(
    plan: str = "growth",
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
    start: datetime = START,
    interval: Interval = Interval.MONTH,
    **changes,
) -> ProviderState:
    months = 12 if interval is Interval.YEAR else 1
    return ProviderState(
        status=status,
        plan_code=plan,
        interval=interval,
        period_start=start,
        period_end=add_months(start, months),
        **changes,
    )


def apply(local: Subscription, provider: ProviderState, now: datetime = NOW):
    return follow(
        local,
        provider,
        current=PLANS[local.plan_code],
        target=PLANS[provider.plan_code],
        source=Source.STRIPE,
        now=now,
    )


def paid(plan: str = "growth") -> Subscription:
    return apply(trial(), state(plan)).subscription


def test_a_trial_adopts_a_paid_subscription_at_once():
    followed = apply(trial(), state("growth"))
    sub = followed.subscription
    assert followed.changes == {Change.ACTIVATED}
    assert (sub.status, sub.plan_code, sub.source) == (
        SubscriptionStatus.ACTIVE,
        "growth",
        Source.STRIPE,
    )
    assert (sub.current_period_start, sub.current_period_end) == (START, add_months(START, 1))


def test_a_first_payment_still_pending_leaves_the_trial_alone_but_not_an_ended_one():
    pending = state("growth", SubscriptionStatus.INCOMPLETE)
    assert apply(trial(), pending).changes == frozenset()
    ended = apply(paid(), state("growth", SubscriptionStatus.CANCELED)).subscription
    waiting = apply(
        ended,
        msgspec.structs.replace(pending, period_start=NOW, period_end=NOW + timedelta(days=30)),
    )
    assert waiting.changes == {Change.INCOMPLETE}
    assert waiting.subscription.status is SubscriptionStatus.INCOMPLETE
    assert not waiting.subscription.access(NOW).ai


def test_an_upgrade_applies_at_once_and_a_downgrade_waits_for_the_period():
    up = apply(paid("growth"), state("scale"))
    assert up.changes == {Change.UPGRADED} and up.subscription.plan_code == "scale"

    down = apply(paid("growth"), state("starter"))
    assert down.changes == {Change.DOWNGRADE_SCHEDULED}
    assert (down.subscription.plan_code, down.subscription.pending_plan_code) == (
        "growth",
        "starter",
    )
    # the provider's same state again: nothing more
    assert apply(down.subscription, state("starter")).changes == frozenset()
    # back to the current plan: the downgrade is off
    back = apply(down.subscription, state("growth"))
    assert back.changes == {Change.DOWNGRADE_CLEARED}
    assert back.subscription.pending_plan_code is None


def test_a_later_period_renews_on_the_providers_plan():
    scheduled = apply(paid("growth"), state("starter")).subscription
    later = add_months(START, 1)
    renewed = apply(scheduled, state("starter", start=later))
    sub = renewed.subscription
    assert renewed.changes == {Change.RENEWED}
    assert (sub.plan_code, sub.pending_plan_code, sub.current_period_start) == (
        "starter",
        None,
        later,
    )


def test_an_older_view_of_the_period_changes_nothing():
    sub = apply(paid("growth"), state("growth", start=add_months(START, 1))).subscription
    stale = apply(sub, state("scale", start=START, cancel_at_period_end=True))
    assert stale.changes == frozenset() and stale.subscription == sub


def test_cancellation_at_the_periods_end_follows_the_provider():
    scheduled = apply(paid(), state("growth", cancel_at_period_end=True))
    assert scheduled.changes == {Change.CANCEL_SCHEDULED}
    assert scheduled.subscription.cancel_at_period_end
    resumed = apply(scheduled.subscription, state("growth"))
    assert resumed.changes == {Change.RESUMED}


def test_an_ended_provider_subscription_ends_ours_on_the_trial_plan():
    ended_at = NOW - timedelta(minutes=5)
    followed = apply(
        paid("scale"),
        state(
            "scale",
            SubscriptionStatus.CANCELED,
            ended_at=ended_at,
            end_reason=EndReason.INCOMPLETE_EXPIRED,
        ),
    )
    sub = followed.subscription
    assert followed.changes == {Change.CANCELED}
    assert (sub.status, sub.plan_code, sub.ended_at, sub.ended_reason) == (
        SubscriptionStatus.CANCELED,
        "starter",
        ended_at,
        EndReason.INCOMPLETE_EXPIRED,
    )
    assert apply(sub, state("scale", SubscriptionStatus.CANCELED)).changes == frozenset()


def test_a_failed_payment_has_seven_days_of_grace():
    late = apply(paid(), state("growth", SubscriptionStatus.PAST_DUE))
    sub = late.subscription
    assert late.changes == {Change.PAST_DUE}
    assert sub.past_due_since == NOW and sub.grace_ends_at == NOW + PAYMENT_GRACE
    assert sub.access(NOW + PAYMENT_GRACE - timedelta(seconds=1)).ai
    after = sub.access(NOW + PAYMENT_GRACE)
    assert (after.ai, after.sending, after.blocked) == (False, False, "payment_overdue")
    with pytest.raises(PaymentOverdue):
        sub.require_access(NOW + timedelta(days=8))
    recovered = apply(sub, state("growth"), NOW + timedelta(days=8))
    assert recovered.changes == {Change.RECOVERED}
    assert recovered.subscription.past_due_since is None
    assert recovered.subscription.access(NOW + timedelta(days=8)).ai


def test_an_operator_run_subscription_is_replaced_by_the_providers():
    operated = trial().activate(
        "scale",
        interval=Interval.MONTH,
        source=Source.OPERATOR,
        period_start=NOW - timedelta(days=40),
        period_end=NOW + timedelta(days=20),
        now=NOW,
    )
    followed = apply(operated, state("growth"))
    assert followed.changes == {Change.ACTIVATED}
    assert (followed.subscription.plan_code, followed.subscription.source) == (
        "growth",
        Source.STRIPE,
    )


def test_follow_refuses_plans_that_are_not_the_subscriptions():
    with pytest.raises(ValueError):
        follow(paid(), state("scale"), current=SCALE, target=SCALE, source=Source.STRIPE, now=NOW)


statuses = st.sampled_from(
    [
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE,
        SubscriptionStatus.INCOMPLETE,
        SubscriptionStatus.CANCELED,
    ]
)
provider_states = st.builds(
    lambda plan, status, months, interval, cancel: state(
        plan,
        status,
        start=add_months(START, months),
        interval=interval,
        cancel_at_period_end=cancel,
        ended_at=NOW if status is SubscriptionStatus.CANCELED else None,
    ),
    st.sampled_from(sorted(PLANS)),
    statuses,
    st.integers(min_value=-2, max_value=3),
    st.sampled_from(list(Interval)),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(history=st.lists(provider_states, max_size=4), final=provider_states)
def test_following_the_same_state_again_changes_nothing(history, final):
    sub = trial()
    for seen in history:
        sub = apply(sub, seen).subscription
    once = apply(sub, final)
    twice = apply(once.subscription, final)
    assert twice.changes == frozenset() and twice.subscription == once.subscription
    if final.status is SubscriptionStatus.CANCELED:
        assert once.subscription.status is SubscriptionStatus.CANCELED
    if once.subscription.status is SubscriptionStatus.CANCELED:
        assert once.subscription.plan_code == "starter"
