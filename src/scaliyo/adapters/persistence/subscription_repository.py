"""The subscription of the transaction's workspace (row-level security scopes every statement)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, literal_column, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.billing_sql import TENANT
from scaliyo.adapters.persistence.tables import subscriptions
from scaliyo.domain.billing.plans import Interval
from scaliyo.domain.billing.subscriptions import (
    EndReason,
    Source,
    Subscription,
    SubscriptionStatus,
)
from scaliyo.domain.shared.ids import WorkspaceId


def subscription_from_row(row: Row[Any]) -> Subscription:
    return Subscription(
        workspace_id=WorkspaceId(row.workspace_id),
        plan_code=row.plan_code,
        status=SubscriptionStatus(row.status),
        interval=Interval(row.interval),
        source=Source(row.source),
        current_period_start=row.current_period_start,
        current_period_end=row.current_period_end,
        trial_end=row.trial_end,
        cancel_at_period_end=row.cancel_at_period_end,
        pending_plan_code=row.pending_plan_code,
        extra_seats=row.extra_seats,
        ended_at=row.ended_at,
        ended_reason=None if row.ended_reason is None else EndReason(row.ended_reason),
        past_due_since=row.past_due_since,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _values(subscription: Subscription) -> dict[str, Any]:
    return {
        "plan_code": subscription.plan_code,
        "status": subscription.status.value,
        "interval": subscription.interval.value,
        "source": subscription.source.value,
        "current_period_start": subscription.current_period_start,
        "current_period_end": subscription.current_period_end,
        "trial_end": subscription.trial_end,
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "pending_plan_code": subscription.pending_plan_code,
        "extra_seats": subscription.extra_seats,
        "ended_at": subscription.ended_at,
        "ended_reason": None
        if subscription.ended_reason is None
        else subscription.ended_reason.value,
        "past_due_since": subscription.past_due_since,
        "updated_at": subscription.updated_at,
    }


class SqlSubscriptionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, *, for_update: bool = False) -> Subscription | None:
        query = select(subscriptions).where(subscriptions.c.workspace_id == literal_column(TENANT))
        if for_update:
            query = query.with_for_update()
        row = (await self._connection.execute(query)).first()
        return None if row is None else subscription_from_row(row)

    async def add(self, subscription: Subscription) -> None:
        await self._connection.execute(
            insert(subscriptions).values(
                workspace_id=subscription.workspace_id,
                created_at=subscription.created_at,
                **_values(subscription),
            )
        )

    async def save(self, subscription: Subscription) -> None:
        await self._connection.execute(
            update(subscriptions)
            .where(subscriptions.c.workspace_id == subscription.workspace_id)
            .values(**_values(subscription))
        )
