"""Plans: platform rows every workspace reads (``scaliyo_app`` may only SELECT them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.tables import plans
from scaliyo.domain.billing.plans import Plan, PlanLimits

LIMIT_COLUMNS = (
    "ai_credits",
    "contacts",
    "emails_per_month",
    "emails_per_day",
    "seats",
    "storage_mb",
    "linkedin_actions_per_day",
    "linkedin_actions_per_month",
)


def plan_from_row(row: Row[Any]) -> Plan:
    return Plan(
        code=row.code,
        name=row.name,
        currency=row.currency,
        monthly_price_cents=row.monthly_price_cents,
        limits=PlanLimits(**{name: getattr(row, name) for name in LIMIT_COLUMNS}),
        features=frozenset(row.features or ()),
        public=row.public,
        sort_order=row.sort_order,
        stripe_price_monthly=row.stripe_price_monthly,
        stripe_price_annual=row.stripe_price_annual,
    )


def plan_values(plan: Plan) -> dict[str, Any]:
    """A plan as a row (operators' and tests' inserts; the migration seeds its own literals)."""
    return {
        "code": plan.code,
        "name": plan.name,
        "currency": plan.currency,
        "monthly_price_cents": plan.monthly_price_cents,
        **{name: getattr(plan.limits, name) for name in LIMIT_COLUMNS},
        "features": sorted(plan.features),
        "public": plan.public,
        "sort_order": plan.sort_order,
        "stripe_price_monthly": plan.stripe_price_monthly,
        "stripe_price_annual": plan.stripe_price_annual,
    }


class SqlPlanRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, code: str) -> Plan | None:
        row = (await self._connection.execute(select(plans).where(plans.c.code == code))).first()
        return None if row is None else plan_from_row(row)

    async def list_public(self) -> list[Plan]:
        rows = await self._connection.execute(
            select(plans).where(plans.c.public).order_by(plans.c.sort_order, plans.c.code)
        )
        return [plan_from_row(row) for row in rows]
