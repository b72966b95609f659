"""The subscription state machine, trial access and the credit periods of a plan."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from scaliyo.domain.billing.periods import add_months, credit_period, period_containing
from scaliyo.domain.billing.plans import ALL_FEATURES, GROWTH, SCALE, STARTER, Interval
from scaliyo.domain.billing.subscriptions import (
    PAID,
    EndReason,
    InvalidSubscriptionChange,
    PlanChange,
    Source,
    Subscription,
    SubscriptionInactive,
    SubscriptionStatus,
    TrialEnded,
    trial_days_left,
)
from scaliyo.domain.shared.ids import WorkspaceId

NOW = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
PLANS = {p.code: p for p in (STARTER, GROWTH, SCALE)}


def trial(now: datetime = NOW) -> Subscription:
    return Subscription.start_trial(WorkspaceId(uuid4()), now)


def active(plan: str = "growth", interval: Interval = Interval.MONTH) -> Subscription:
    return trial().activate(
        plan,
        interval=interval,
        source=Source.OPERATOR,
        period_start=NOW,
        period_end=add_months(NOW, 12 if interval is Interval.YEAR else 1),
        now=NOW,
    )


def test_a_new_workspace_trials_starter_with_every_feature_for_14_days():
    sub = trial()
    assert (sub.status, sub.plan_code, sub.source) == (
        SubscriptionStatus.TRIALING,
        "starter",
        "trial",
    )
    assert sub.trial_end == NOW + timedelta(days=14)
    assert sub.features(STARTER) == ALL_FEATURES
    assert sub.limits(STARTER) == STARTER.limits
    assert sub.access(NOW).ai and sub.access(NOW).sending
    assert trial_days_left(sub, NOW) == 14
    assert sub.credit_period(NOW) == (NOW, NOW + timedelta(days=14))


def test_a_trial_that_runs_out_stops_ai_work_and_sending_with_trial_ended():
    sub = trial()
    after = NOW + timedelta(days=14)
    # Even before the job runs, the clock alone shuts AI work.
    assert sub.access(after).blocked == "trial_ended"
    with pytest.raises(TrialEnded):
        sub.require_access(after)
    with pytest.raises(InvalidSubscriptionChange):
        sub.end_trial(after - timedelta(seconds=1))
    ended = sub.end_trial(after + timedelta(hours=1))
    assert ended.status is SubscriptionStatus.CANCELED
    assert ended.ended_reason is EndReason.TRIAL_ENDED and ended.ended_at == sub.trial_end
    assert ended.access(after).blocked == "trial_ended"
    assert ended.credit_period(after) is None
    assert ended.features(STARTER) == STARTER.features
    with pytest.raises(TrialEnded, match="data is kept"):
        ended.require_access(after)


def test_upgrades_apply_at_once_downgrades_at_the_period_end():
    sub = active("growth")
    upgraded, change = sub.change_plan(GROWTH, SCALE, NOW)
    assert change is PlanChange.UPGRADED and upgraded.plan_code == "scale"
    scheduled, change = upgraded.change_plan(SCALE, STARTER, NOW)
    assert change is PlanChange.DOWNGRADE_SCHEDULED
    assert (scheduled.plan_code, scheduled.pending_plan_code) == ("scale", "starter")
    kept, change = scheduled.change_plan(SCALE, SCALE, NOW)
    assert change is PlanChange.UNCHANGED and kept.pending_plan_code is None
    renewed = scheduled.renew(scheduled.current_period_end)
    assert renewed.plan_code == "starter" and renewed.pending_plan_code is None
    assert renewed.current_period_start == scheduled.current_period_end
    with pytest.raises(InvalidSubscriptionChange):
        trial().change_plan(STARTER, GROWTH, NOW)


def test_cancel_at_period_end_ends_at_the_period_end_and_can_be_undone():
    sub = active().schedule_cancel(NOW)
    assert sub.access(NOW).ai
    with pytest.raises(InvalidSubscriptionChange):
        sub.renew(NOW)  # the period has not ended
    ended = sub.renew(sub.current_period_end + timedelta(days=3))
    assert ended.status is SubscriptionStatus.CANCELED and ended.ended_reason is EndReason.CANCELED
    with pytest.raises(SubscriptionInactive):
        ended.require_access(NOW)
    resumed = active().schedule_cancel(NOW).resume(NOW)
    assert resumed.renew(resumed.current_period_end).status is SubscriptionStatus.ACTIVE


def test_dunning_keeps_access_until_the_subscription_ends():
    sub = active().payment_failed(NOW)
    assert sub.status is SubscriptionStatus.PAST_DUE and sub.access(NOW).ai
    assert sub.payment_succeeded(NOW).status is SubscriptionStatus.ACTIVE
    gone = sub.cancel_now(NOW)
    assert gone.access(NOW).blocked == "subscription_inactive"
    assert (
        gone.activate(
            "starter",
            interval=Interval.MONTH,
            source=Source.STRIPE,
            period_start=NOW,
            period_end=add_months(NOW, 1),
            now=NOW,
        )
        .access(NOW)
        .ai
    )


def test_bought_seats_add_to_the_plan():
    sub = active("scale")
    assert msgspec.structs.replace(sub, extra_seats=5).limits(SCALE).seats == 15


def test_renewal_after_a_long_outage_lands_in_the_period_holding_now():
    sub = active("starter")
    late = add_months(NOW, 5) + timedelta(days=2)
    renewed = sub.renew(late)
    assert renewed.current_period_start <= late < renewed.current_period_end


def test_an_annual_plan_has_twelve_monthly_credit_periods():
    sub = active("growth", Interval.YEAR)
    starts = []
    moment = NOW
    while moment < sub.current_period_end:
        start, end = sub.credit_period(moment)
        assert start <= moment < end
        starts.append(start)
        moment = end
    assert len(starts) == 12
    assert starts[1] == datetime(2026, 2, 28, 9, 30, tzinfo=UTC)  # Jan 31 + 1 month
    assert starts[2] == datetime(2026, 3, 31, 9, 30, tzinfo=UTC)  # back on the 31st
    assert (
        credit_period(NOW, sub.current_period_end, Interval.YEAR, sub.current_period_end)[1]
        == sub.current_period_end
    )


moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(moments, st.integers(min_value=0, max_value=400))
def test_adding_months_keeps_the_day_or_the_month_end(moment, months):
    later = add_months(moment, months)
    assert (later.year * 12 + later.month) - (moment.year * 12 + moment.month) == months
    month_end = (later + timedelta(days=1)).day == 1
    assert later.day == moment.day or (later.day < moment.day and month_end)
    assert later.time() == moment.time()


@given(moments, st.integers(min_value=0, max_value=10_000), st.sampled_from([1, 12]))
def test_the_period_containing_a_moment_holds_it(anchor, days, months):
    at = anchor + timedelta(days=days, minutes=days)
    start, end = period_containing(anchor, months, at)
    assert start <= at < end
    assert anchor <= start


class SubscriptionMachine(RuleBasedStateMachine):
    """Any sequence of transitions keeps the subscription's invariants."""

    def __init__(self) -> None:
        super().__init__()
        self.now = NOW
        self.sub = trial(self.now)

    @rule(days=st.integers(min_value=0, max_value=60))
    def time_passes(self, days):
        self.now += timedelta(days=days, hours=1)

    def _try(self, change):
        with contextlib.suppress(InvalidSubscriptionChange):
            self.sub = change()

    @rule()
    def end_trial(self):
        self._try(lambda: self.sub.end_trial(self.now))

    @rule(plan=st.sampled_from(sorted(PLANS)), yearly=st.booleans())
    def activate(self, plan, yearly):
        interval = Interval.YEAR if yearly else Interval.MONTH
        self._try(
            lambda: self.sub.activate(
                plan,
                interval=interval,
                source=Source.OPERATOR,
                period_start=self.now,
                period_end=add_months(self.now, 12 if yearly else 1),
                now=self.now,
            )
        )

    @rule(plan=st.sampled_from(sorted(PLANS)))
    def change_plan(self, plan):
        self._try(lambda: self.sub.change_plan(PLANS[self.sub.plan_code], PLANS[plan], self.now)[0])

    @rule()
    def schedule_cancel(self):
        self._try(lambda: self.sub.schedule_cancel(self.now))

    @rule()
    def renew(self):
        self._try(lambda: self.sub.renew(self.now))

    @rule()
    def payment_failed(self):
        self._try(lambda: self.sub.payment_failed(self.now))

    @rule()
    def payment_succeeded(self):
        self._try(lambda: self.sub.payment_succeeded(self.now))

    @rule()
    def cancel_now(self):
        self._try(lambda: self.sub.cancel_now(self.now))

    @invariant()
    def consistent(self):
        sub = self.sub
        assert sub.current_period_start < sub.current_period_end
        assert (sub.status is SubscriptionStatus.CANCELED) == (sub.ended_at is not None)
        assert sub.pending_plan_code is None or sub.status in PAID
        access = sub.access(self.now)
        assert access.ai == access.sending == (access.blocked is None)
        grace_end = sub.grace_ends_at
        if sub.status is SubscriptionStatus.ACTIVE or (
            sub.status is SubscriptionStatus.PAST_DUE and grace_end and self.now < grace_end
        ):
            assert access.ai
        if sub.status is SubscriptionStatus.PAST_DUE and grace_end and self.now >= grace_end:
            assert access.blocked == "payment_overdue"
        if sub.status in PAID:
            period = sub.credit_period(self.now)
            assert period is not None and period[0] < period[1]
        if sub.status is SubscriptionStatus.CANCELED:
            assert not access.ai and sub.credit_period(self.now) is None


TestSubscriptionMachine = SubscriptionMachine.TestCase
TestSubscriptionMachine.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
