"""Plans as data: prices, limits and features (PRODUCT.md, Plans).

Plans live in the ``plans`` table, where admins edit them; the catalogue below is what the
migration seeds where absent and what tests compare it with. A custom plan is a plan like any
other, with its own code, limits and features, that is not public (not offered for sale, given
to a workspace by an operator).

Rules:
- prices are integer cents in one currency; the annual price is never stored: it is
  ``annual_price_cents(monthly)`` (12 × monthly less 15 %, rounded half up to the cent);
- a limit of ``None`` means no limit; every limit is a whole number ≥ 0;
- ``ai_credits`` is the allowance granted afresh each (monthly) credit period;
- features are flags; a flag this code does not know is kept (admins may be ahead of us), and
  only known flags unlock anything;
- one plan is an upgrade over another when it costs more a month (on equal prices: when it
  grants more AI credits); upgrades apply at once, downgrades at the period's end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

import msgspec

from scaliyo.domain.billing.money import annual_price_cents, check_currency
from scaliyo.domain.shared.errors import FieldError, NotFound, ValidationFailed

TRIAL_PLAN_CODE = "starter"
TRIAL_DAYS = 14
_CODE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")


class Feature(StrEnum):
    AI_BASIC = "ai_basic"
    AI_DRAFTS = "ai_drafts"
    AI_PERSONALISATION = "ai_personalisation"
    AI_ADVANCED = "ai_advanced"
    # "API and webhooks": API keys, outgoing webhooks, Zapier.
    API_ACCESS = "api_access"
    WEBHOOKS = "webhooks"
    AUTOMATED_WARMUP = "automated_warmup"
    INBOX_MONITORING = "inbox_monitoring"
    # Seats beyond the plan's may be bought.
    EXTRA_SEATS = "extra_seats"


ALL_FEATURES: frozenset[str] = frozenset(feature.value for feature in Feature)


class Interval(StrEnum):
    MONTH = "month"
    YEAR = "year"


class PlanNotFound(NotFound):
    code = "plan_not_found"
    title = "No such plan"


class PlanLimits(msgspec.Struct, frozen=True, kw_only=True):
    ai_credits: int
    contacts: int | None
    emails_per_month: int | None
    emails_per_day: int | None
    seats: int | None
    storage_mb: int | None
    linkedin_actions_per_day: int | None
    linkedin_actions_per_month: int | None

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"the {name} limit cannot be negative")


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    monthly_price_cents: int
    limits: PlanLimits
    features: frozenset[str]
    currency: str = "usd"
    public: bool = True
    sort_order: int = 0
    stripe_price_monthly: str | None = None
    stripe_price_annual: str | None = None

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise ValueError(f"plan code {self.code!r}: 2–40 of a-z, 0-9, '_' or '-'")
        if not self.name.strip():
            raise ValueError("a plan needs a name")
        if self.monthly_price_cents < 0:
            raise ValueError("a price cannot be negative")
        check_currency(self.currency)

    @property
    def annual_price_cents(self) -> int:
        return annual_price_cents(self.monthly_price_cents)

    def price_cents(self, interval: Interval) -> int:
        return self.annual_price_cents if interval is Interval.YEAR else self.monthly_price_cents

    def has(self, feature: Feature) -> bool:
        return feature.value in self.features


def plan_code(raw: str) -> str:
    """A plan code as typed by an operator: trimmed, lower-cased, then checked."""
    code = raw.strip().lower()
    if not _CODE.match(code):
        raise ValidationFailed(
            f"{raw!r} is not a plan code.",
            errors=[FieldError("plan", "invalid_plan_code", "2–40 of a-z, 0-9, '_' or '-'.")],
        )
    return code


def is_upgrade(current: Plan, new: Plan) -> bool:
    return (new.monthly_price_cents, new.limits.ai_credits) > (
        current.monthly_price_cents,
        current.limits.ai_credits,
    )


def features(*flags: Feature) -> frozenset[str]:
    return frozenset(flag.value for flag in flags)


def known_features(flags: Iterable[str]) -> list[str]:
    """The flags this code knows, in a stable order (for views)."""
    present = set(flags)
    return [feature.value for feature in Feature if feature.value in present]


# The standard catalogue (PRODUCT.md). The daily e-mail and LinkedIn limits are not in the
# product table; these are our defaults, editable like any plan data.
STARTER = Plan(
    code="starter",
    name="Starter",
    monthly_price_cents=2900,
    sort_order=10,
    limits=PlanLimits(
        ai_credits=1_000,
        contacts=1_000,
        emails_per_month=2_000,
        emails_per_day=200,
        seats=1,
        storage_mb=1_000,
        linkedin_actions_per_day=50,
        linkedin_actions_per_month=1_000,
    ),
    features=features(Feature.AI_BASIC),
)
GROWTH = Plan(
    code="growth",
    name="Growth",
    monthly_price_cents=7900,
    sort_order=20,
    limits=PlanLimits(
        ai_credits=6_000,
        contacts=10_000,
        emails_per_month=15_000,
        emails_per_day=1_000,
        seats=3,
        storage_mb=10_000,
        linkedin_actions_per_day=150,
        linkedin_actions_per_month=3_000,
    ),
    features=features(
        Feature.AI_BASIC, Feature.AI_DRAFTS, Feature.AI_PERSONALISATION, Feature.AUTOMATED_WARMUP
    ),
)
SCALE = Plan(
    code="scale",
    name="Scale",
    monthly_price_cents=19900,
    sort_order=30,
    limits=PlanLimits(
        ai_credits=20_000,
        contacts=50_000,
        emails_per_month=40_000,
        emails_per_day=2_500,
        seats=10,
        storage_mb=50_000,
        linkedin_actions_per_day=300,
        linkedin_actions_per_month=6_000,
    ),
    features=frozenset(ALL_FEATURES),
)
STANDARD_PLANS: tuple[Plan, ...] = (STARTER, GROWTH, SCALE)
