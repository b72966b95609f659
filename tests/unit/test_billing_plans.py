"""Plans as data: prices in cents, the annual discount, limits and features of PRODUCT.md."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaliyo.domain.billing.money import annual_price_cents
from scaliyo.domain.billing.plans import (
    ALL_FEATURES,
    GROWTH,
    SCALE,
    STANDARD_PLANS,
    STARTER,
    Feature,
    Interval,
    Plan,
    is_upgrade,
    plan_code,
)
from scaliyo.domain.shared.errors import ValidationFailed


@given(st.integers(min_value=0, max_value=10**9))
def test_annual_price_is_twelve_months_less_15_percent_rounded_half_up(monthly):
    exact = Decimal(monthly) * 12 * Decimal("0.85")
    assert annual_price_cents(monthly) == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_fractions_of_a_cent_round_to_the_nearest_cent():
    # 12 × 0.85 = 10.2, so m × 10.2 has tenths of 0, 2, 4, 6 or 8: down below, up above.
    assert annual_price_cents(1) == 10  # 10.2
    assert annual_price_cents(3) == 31  # 30.6
    assert [plan.annual_price_cents for plan in STANDARD_PLANS] == [29_580, 80_580, 202_980]


def test_the_standard_plans_are_those_of_the_product():
    assert [(p.code, p.monthly_price_cents, p.currency) for p in STANDARD_PLANS] == [
        ("starter", 2_900, "usd"),
        ("growth", 7_900, "usd"),
        ("scale", 19_900, "usd"),
    ]
    rows = {
        p.code: (
            p.limits.ai_credits,
            p.limits.contacts,
            p.limits.emails_per_month,
            p.limits.seats,
            p.limits.storage_mb,
        )
        for p in STANDARD_PLANS
    }
    assert rows == {
        "starter": (1_000, 1_000, 2_000, 1, 1_000),
        "growth": (6_000, 10_000, 15_000, 3, 10_000),
        "scale": (20_000, 50_000, 40_000, 10, 50_000),
    }


def test_features_follow_the_product_table():
    assert not STARTER.has(Feature.API_ACCESS) and not GROWTH.has(Feature.API_ACCESS)
    assert SCALE.has(Feature.API_ACCESS) and SCALE.has(Feature.WEBHOOKS)
    assert GROWTH.has(Feature.AUTOMATED_WARMUP) and not STARTER.has(Feature.AUTOMATED_WARMUP)
    assert SCALE.has(Feature.INBOX_MONITORING) and not GROWTH.has(Feature.INBOX_MONITORING)
    assert GROWTH.has(Feature.AI_PERSONALISATION) and not STARTER.has(Feature.AI_DRAFTS)
    assert SCALE.features == ALL_FEATURES
    assert SCALE.has(Feature.EXTRA_SEATS) and not GROWTH.has(Feature.EXTRA_SEATS)


def test_upgrades_are_dearer_plans():
    assert is_upgrade(STARTER, GROWTH) and is_upgrade(GROWTH, SCALE) and is_upgrade(STARTER, SCALE)
    assert not is_upgrade(SCALE, GROWTH) and not is_upgrade(GROWTH, GROWTH)
    cheaper_but_more_credits = msgspec.structs.replace(
        GROWTH,
        code="growth-plus",
        limits=msgspec.structs.replace(GROWTH.limits, ai_credits=9_000),
    )
    assert is_upgrade(GROWTH, cheaper_but_more_credits)


def test_a_custom_plan_is_data_with_its_own_limits():
    custom = Plan(
        code="acme-enterprise",
        name="Acme Enterprise",
        monthly_price_cents=150_000,
        limits=msgspec.structs.replace(SCALE.limits, seats=40, contacts=None),
        features=SCALE.features,
        public=False,
    )
    assert custom.price_cents(Interval.YEAR) == annual_price_cents(150_000)
    assert custom.limits.contacts is None  # no limit
    with pytest.raises(ValueError, match="plan code"):
        Plan(code="Bad Code", name="x", monthly_price_cents=0, limits=STARTER.limits, features=[])
    with pytest.raises(ValueError, match="negative"):
        msgspec.structs.replace(STARTER.limits, seats=-1).__post_init__()


def test_plan_codes_typed_by_operators_are_checked():
    assert plan_code("  Growth ") == "growth"
    with pytest.raises(ValidationFailed) as refused:
        plan_code("no spaces please")
    assert refused.value.errors[0].code == "invalid_plan_code"
