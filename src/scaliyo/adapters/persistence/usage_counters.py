"""The limits port on PostgreSQL: usage counters checked and counted in one statement.

A check is one ``INSERT … ON CONFLICT DO UPDATE … WHERE used + amount <= limit``: the limit is
read from the workspace's subscription and plan in the same statement, PostgreSQL locks the
counter row, and the condition is evaluated on its latest version, so concurrent checks of one
counter are decided one after another and can never pass the limit together. Sending metrics
also require, in the same statement, a subscription that allows sending. Several checks run in
one savepoint: one refusal undoes the others. After a refusal a plain read says why.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.billing_sql import ACCESS_OPEN, TENANT
from scaliyo.adapters.persistence.plan_repository import SqlPlanRepository
from scaliyo.adapters.persistence.subscription_repository import subscription_from_row
from scaliyo.application.billing.limits import plan_limit
from scaliyo.application.billing.ports import CounterValue, Room
from scaliyo.domain.billing.subscriptions import SubscriptionInactive
from scaliyo.domain.usage.counters import (
    BYTES_PER_MB,
    SUBJECT_METRICS,
    TOTAL,
    Check,
    LimitReached,
    Metric,
    period_key,
)

# Mirrors ``application/billing/limits.plan_limit`` (a test holds them together).
PLAN_LIMIT_SQL: dict[Metric, str] = {
    Metric.CONTACTS: "p.contacts",
    Metric.SEATS: "p.seats + s.extra_seats",
    Metric.STORAGE_BYTES: f"p.storage_mb * {BYTES_PER_MB}",
    Metric.EMAILS_DAILY: "p.emails_per_day",
    Metric.EMAILS_MONTHLY: "p.emails_per_month",
    Metric.LINKEDIN_ACTIONS_DAILY: "p.linkedin_actions_per_day",
    Metric.LINKEDIN_ACTIONS_MONTHLY: "p.linkedin_actions_per_month",
    Metric.SENDER_EMAILS_DAILY: "CAST(:limit AS bigint)",
}


def _admit_statement(metric: Metric) -> Any:
    sending = f"AND {ACCESS_OPEN}" if metric.sending else ""
    return text(
        f"""
        INSERT INTO usage_counters AS c
            (workspace_id, metric, subject, period, used, last_limit, updated_at)
        SELECT s.workspace_id, CAST(:metric AS text), CAST(:subject AS text),
               CAST(:period AS text), CAST(:amount AS bigint), lim.value,
               CAST(:now AS timestamptz)
        FROM subscriptions s
        JOIN plans p ON p.code = s.plan_code
        CROSS JOIN LATERAL (SELECT CAST({PLAN_LIMIT_SQL[metric]} AS bigint) AS value) lim
        WHERE s.workspace_id = {TENANT}
          AND (lim.value IS NULL OR CAST(:amount AS bigint) <= lim.value)
          {sending}
        ON CONFLICT (workspace_id, metric, subject, period) DO UPDATE
        SET used = c.used + EXCLUDED.used,
            last_limit = EXCLUDED.last_limit,
            updated_at = EXCLUDED.updated_at
        WHERE EXCLUDED.last_limit IS NULL OR c.used + EXCLUDED.used <= EXCLUDED.last_limit
        RETURNING c.used
        """
    )


_ADMIT = {metric: _admit_statement(metric) for metric in Metric}

_GIVE_BACK = text(
    f"""
    UPDATE usage_counters
    SET used = GREATEST(used - CAST(:amount AS bigint), 0), updated_at = CAST(:now AS timestamptz)
    WHERE workspace_id = {TENANT} AND metric = CAST(:metric AS text)
      AND subject = CAST(:subject AS text) AND period = CAST(:period AS text)
    """
)

_SET_USED = text(
    f"""
    INSERT INTO usage_counters AS c (workspace_id, metric, subject, period, used, updated_at)
    VALUES ({TENANT}, CAST(:metric AS text), CAST(:subject AS text), CAST(:period AS text),
            CAST(:used AS bigint), CAST(:now AS timestamptz))
    ON CONFLICT (workspace_id, metric, subject, period) DO UPDATE
    SET used = EXCLUDED.used, updated_at = EXCLUDED.updated_at
    """
)

_CURRENT = text(
    f"""
    SELECT metric, subject, period, used, last_limit FROM usage_counters
    WHERE workspace_id = {TENANT}
      AND (period IN ('{TOTAL}', CAST(:day AS text), CAST(:month AS text))
           OR (subject <> '' AND period >= CAST(:yesterday AS text)))
    ORDER BY metric, subject, period
    """
)

_SUBSCRIPTION = text(f"SELECT * FROM subscriptions WHERE workspace_id = {TENANT}")

_ENSURE_COUNTER = text(
    f"""
    INSERT INTO usage_counters (workspace_id, metric, subject, period, used, updated_at)
    VALUES ({TENANT}, CAST(:metric AS text), '', CAST(:period AS text), 0,
            CAST(:now AS timestamptz))
    ON CONFLICT (workspace_id, metric, subject, period) DO NOTHING
    """
)


def _room_statement(metric: Metric) -> Any:
    return text(
        f"""
        SELECT coalesce(c.used, 0) AS used, CAST({PLAN_LIMIT_SQL[metric]} AS bigint) AS value
        FROM subscriptions s
        JOIN plans p ON p.code = s.plan_code
        LEFT JOIN usage_counters c ON c.workspace_id = s.workspace_id
          AND c.metric = CAST(:metric AS text) AND c.subject = ''
          AND c.period = CAST(:period AS text)
        WHERE s.workspace_id = {TENANT}
        """
    )


def _lock_counter_statement(metric: Metric) -> Any:
    return text(
        f"""
        SELECT c.used, CAST({PLAN_LIMIT_SQL[metric]} AS bigint) AS value
        FROM usage_counters c
        JOIN subscriptions s ON s.workspace_id = c.workspace_id
        JOIN plans p ON p.code = s.plan_code
        WHERE c.workspace_id = {TENANT} AND c.metric = CAST(:metric AS text)
          AND c.subject = '' AND c.period = CAST(:period AS text)
        FOR UPDATE OF c
        """
    )


_ADD_USED = text(
    f"""
    UPDATE usage_counters
    SET used = used + CAST(:amount AS bigint), last_limit = CAST(:limit AS bigint),
        updated_at = CAST(:now AS timestamptz)
    WHERE workspace_id = {TENANT} AND metric = CAST(:metric AS text)
      AND subject = '' AND period = CAST(:period AS text)
    """
)


class SqlUsageLimits:
    """``uow.limits``: the counters of the connection's tenant, in its transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def admit(self, *checks: Check, at: datetime) -> None:
        if not checks:
            return
        async with self._connection.begin_nested():
            for check in checks:
                params = {
                    "metric": check.metric.value,
                    "subject": check.subject or "",
                    "period": period_key(check.metric, at, check.time_zone),
                    "amount": check.amount,
                    "limit": check.limit,
                    "now": at,
                }
                row = (await self._connection.execute(_ADMIT[check.metric], params)).first()
                if row is None:
                    await self._refusal(check, at)

    async def admit_up_to(self, metric: Metric, amount: int, *, at: datetime) -> int:
        """Count as many of ``amount`` as the limit leaves room for; how many were counted.
        The counter row stays locked until the transaction ends, so concurrent callers are
        decided one after another."""
        if metric.sending or metric in SUBJECT_METRICS:
            raise ValueError(f"{metric} is not a plain workspace counter")
        if amount < 1:
            return 0
        params = {"metric": metric.value, "period": period_key(metric, at), "now": at}
        await self._connection.execute(_ENSURE_COUNTER, params)
        row = (await self._connection.execute(_lock_counter_statement(metric), params)).first()
        if row is None:
            raise SubscriptionInactive("This workspace has no subscription.")
        room = amount if row.value is None else max(0, min(amount, row.value - row.used))
        if room:
            await self._connection.execute(
                _ADD_USED, {**params, "amount": room, "limit": row.value}
            )
        return room

    async def _refusal(self, check: Check, at: datetime) -> None:
        row = (await self._connection.execute(_SUBSCRIPTION)).first()
        if row is None:
            raise SubscriptionInactive("This workspace has no subscription.")
        subscription = subscription_from_row(row)
        if check.metric.sending:
            subscription.require_access(at, "sending")
        if check.metric in SUBJECT_METRICS:
            limit = check.limit
        else:
            plan = await SqlPlanRepository(self._connection).get(subscription.plan_code)
            limit = None if plan is None else plan_limit(check.metric, subscription.limits(plan))
        raise LimitReached(check.metric, limit)

    async def room(self, metric: Metric, *, at: datetime) -> Room:
        if metric.sending or metric in SUBJECT_METRICS:
            raise ValueError(f"{metric} is not a plain workspace counter")
        params = {"metric": metric.value, "period": period_key(metric, at)}
        row = (await self._connection.execute(_room_statement(metric), params)).first()
        if row is None:
            raise SubscriptionInactive("This workspace has no subscription.")
        if row.value is None:
            return Room(limit=None, left=None)
        return Room(limit=row.value, left=max(0, row.value - row.used))

    async def give_back(
        self, metric: Metric, amount: int = 1, *, at: datetime, subject: str | None = None
    ) -> None:
        if amount < 1:
            raise ValueError("give back at least 1")
        await self._connection.execute(
            _GIVE_BACK,
            {
                "metric": metric.value,
                "subject": subject or "",
                "period": period_key(metric, at),
                "amount": amount,
                "now": at,
            },
        )

    async def set_used(
        self, metric: Metric, used: int, *, at: datetime, subject: str | None = None
    ) -> None:
        if used < 0:
            raise ValueError("a counter is never negative")
        await self._connection.execute(
            _SET_USED,
            {
                "metric": metric.value,
                "subject": subject or "",
                "period": period_key(metric, at),
                "used": used,
                "now": at,
            },
        )

    async def current(self, at: datetime) -> list[CounterValue]:
        params = {
            "day": period_key(Metric.EMAILS_DAILY, at),
            "month": period_key(Metric.EMAILS_MONTHLY, at),
            "yesterday": period_key(Metric.EMAILS_DAILY, at - timedelta(days=1)),
        }
        rows = (await self._connection.execute(_CURRENT, params)).all()
        latest: dict[tuple[str, str], Any] = {}
        values = []
        for row in rows:
            metric = Metric(row.metric)
            if row.subject:
                latest[(row.metric, row.subject)] = row  # ordered by period: the last wins
                continue
            values.append(
                CounterValue(
                    metric=metric, period=row.period, used=row.used, last_limit=row.last_limit
                )
            )
        values.extend(
            CounterValue(
                metric=Metric(row.metric),
                period=row.period,
                used=row.used,
                subject=row.subject,
                last_limit=row.last_limit,
            )
            for row in latest.values()
        )
        return values
