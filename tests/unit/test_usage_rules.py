"""Usage counters: periods, checks, and which plan limit holds each metric."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaliyo.application.billing.limits import plan_limit
from scaliyo.domain.billing.plans import GROWTH, STARTER
from scaliyo.domain.shared.errors import ValidationFailed
from scaliyo.domain.usage.counters import (
    SENDING_METRICS,
    Check,
    LimitReached,
    Metric,
    Window,
    admits,
    period_key,
)

LATE = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)


def test_workspace_periods_are_utc_days_and_months():
    assert period_key(Metric.EMAILS_DAILY, LATE) == "2026-11-30"
    assert period_key(Metric.EMAILS_MONTHLY, LATE) == "2026-11"
    assert period_key(Metric.LINKEDIN_ACTIONS_DAILY, LATE) == "2026-11-30"
    assert period_key(Metric.CONTACTS, LATE) == "total"


def test_a_senders_day_follows_its_time_zone():
    assert period_key(Metric.SENDER_EMAILS_DAILY, LATE, "Europe/Berlin") == "2026-12-01"
    assert period_key(Metric.SENDER_EMAILS_DAILY, LATE, "America/New_York") == "2026-11-30"
    with pytest.raises(ValidationFailed):
        period_key(Metric.SENDER_EMAILS_DAILY, LATE, "Mars/Olympus")


def test_checks_are_well_formed():
    Check(metric=Metric.SENDER_EMAILS_DAILY, subject="sender-1", limit=50, time_zone="UTC")
    with pytest.raises(ValueError, match="per subject"):
        Check(metric=Metric.SENDER_EMAILS_DAILY)
    with pytest.raises(ValueError, match="own limit"):
        Check(metric=Metric.CONTACTS, limit=5)
    with pytest.raises(ValueError, match="at least 1"):
        Check(metric=Metric.SEATS, amount=0)


def test_every_metric_has_a_window_and_sending_is_named():
    assert {m.window for m in Metric} == set(Window)
    assert Metric.CONTACTS not in SENDING_METRICS and Metric.EMAILS_DAILY in SENDING_METRICS


def test_plan_limits_by_metric():
    limits = GROWTH.limits
    assert plan_limit(Metric.CONTACTS, limits) == 10_000
    assert plan_limit(Metric.SEATS, limits) == 3
    assert plan_limit(Metric.STORAGE_BYTES, limits) == 10_000 * 1_000_000
    assert plan_limit(Metric.EMAILS_MONTHLY, limits) == 15_000
    assert plan_limit(Metric.EMAILS_DAILY, STARTER.limits) == 200
    assert plan_limit(Metric.SENDER_EMAILS_DAILY, limits) is None
    unlimited = msgspec.structs.replace(limits, contacts=None, storage_mb=None)
    assert plan_limit(Metric.CONTACTS, unlimited) is None
    assert plan_limit(Metric.STORAGE_BYTES, unlimited) is None


def test_a_refusal_names_the_metric_and_the_limit():
    error = LimitReached(Metric.CONTACTS, 1_000)
    assert error.code == "limit_reached" and "contacts limit (1000)" in error.detail


@given(
    st.lists(st.tuples(st.integers(1, 50), st.integers(0, 200)), max_size=60),
)
def test_checks_never_admit_past_the_limit_in_force(steps):
    used = 0
    for amount, limit in steps:
        if admits(used, amount, limit):
            used += amount
            assert used <= limit
    assert admits(used, 10**9, None)
