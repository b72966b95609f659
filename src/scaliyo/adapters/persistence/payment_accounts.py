"""Payments in the unit of work's transaction: the workspace's customers at providers, the log of
provider events applied, and the plans' provider price ids."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.billing_sql import TENANT
from scaliyo.adapters.persistence.tables import payment_accounts, payment_events, plans
from scaliyo.application.billing.payments import PaymentAccount, PlanPrice
from scaliyo.domain.billing.plans import Interval

_TENANT = literal_column(TENANT)


class SqlPaymentAccounts:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, provider: str) -> PaymentAccount | None:
        row = (
            await self._connection.execute(
                select(payment_accounts).where(
                    payment_accounts.c.workspace_id == _TENANT,
                    payment_accounts.c.provider == provider,
                )
            )
        ).first()
        if row is None:
            return None
        return PaymentAccount(
            provider=row.provider, customer_id=row.customer_id, subscription_id=row.subscription_id
        )

    async def add(self, account: PaymentAccount, now: datetime) -> None:
        await self._connection.execute(
            insert(payment_accounts).values(
                workspace_id=_TENANT,
                provider=account.provider,
                customer_id=account.customer_id,
                subscription_id=account.subscription_id,
                created_at=now,
                updated_at=now,
            )
        )

    async def set_subscription(self, provider: str, subscription_id: str, now: datetime) -> None:
        await self._connection.execute(
            update(payment_accounts)
            .where(
                payment_accounts.c.workspace_id == _TENANT,
                payment_accounts.c.provider == provider,
            )
            .values(subscription_id=subscription_id, updated_at=now)
        )


class SqlPaymentEventLog:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def record(self, *, provider: str, event_id: str, type: str, now: datetime) -> bool:
        """Insert first: a concurrent insert of the same id blocks on the primary key until this
        transaction ends, then conflicts (this one committed) or goes ahead (it rolled back)."""
        inserted = await self._connection.execute(
            insert(payment_events)
            .values(
                provider=provider,
                event_id=event_id,
                workspace_id=_TENANT,
                type=type,
                received_at=now,
            )
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
            .returning(payment_events.c.event_id)
        )
        return inserted.first() is not None


class SqlPlanPrices:
    """Price ids are plan data (``plans.stripe_price_monthly`` / ``stripe_price_annual``)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def find(self, price_id: str) -> PlanPrice | None:
        row = (
            await self._connection.execute(
                select(plans.c.code, plans.c.stripe_price_monthly, plans.c.stripe_price_annual)
                .where(
                    or_(
                        plans.c.stripe_price_monthly == price_id,
                        plans.c.stripe_price_annual == price_id,
                    )
                )
                .order_by(plans.c.code)
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        interval = Interval.MONTH if row.stripe_price_monthly == price_id else Interval.YEAR
        return PlanPrice(plan_code=row.code, interval=interval)
