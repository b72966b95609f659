"""In-memory billing for the fake unit of work: plans, subscriptions, the credit ledger (the
domain's ``Ledger``, the rules' pure form) and usage counters.

``attach_billing(uow)`` gives a ``FakeUnitOfWork`` the billing repositories over a copy of the
store's billing data; ``commit_billing(uow)`` swaps the copy in.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import uuid_utils

from scaliyo.application.billing.limits import plan_limit
from scaliyo.application.billing.ports import CounterValue, Room
from scaliyo.application.credits.ports import CreditBalance, LedgerLine
from scaliyo.domain.billing.plans import STANDARD_PLANS, Plan
from scaliyo.domain.billing.subscriptions import Subscription, SubscriptionInactive
from scaliyo.domain.credits.ledger import EntryKind, Ledger, Reservation, ReservationClosed
from scaliyo.domain.credits.operations import Operation
from scaliyo.domain.usage.counters import (
    SUBJECT_METRICS,
    Check,
    LimitReached,
    Metric,
    admits,
    period_key,
)


def _id() -> UUID:
    return UUID(bytes=uuid_utils.uuid7().bytes)


@dataclass
class BillingData:
    plans: dict[str, Plan] = field(default_factory=lambda: {p.code: p for p in STANDARD_PLANS})
    subscriptions: dict[UUID, Subscription] = field(default_factory=dict)
    ledgers: dict[UUID, Ledger] = field(default_factory=dict)
    # (workspace, metric, subject, period) -> [used, last limit]
    counters: dict[tuple[UUID, str, str, str], list[Any]] = field(default_factory=dict)
    # workspace -> ledger entry ids (LedgerLine ids), parallel to Ledger.entries
    entry_ids: dict[UUID, list[UUID]] = field(default_factory=dict)


def billing_of(store: Any) -> BillingData:
    data = getattr(store, "billing", None)
    if data is None:
        data = BillingData()
        store.billing = data
    return data


class _Part:
    def __init__(self, uow: Any) -> None:
        self._uow = uow

    @property
    def _data(self) -> BillingData:
        return self._uow.billing_data

    @property
    def _ws(self) -> UUID:
        assert self._uow.workspace_id is not None, "no tenant: nothing is visible"
        return self._uow.workspace_id


class FakePlans(_Part):
    async def get(self, code: str) -> Plan | None:
        return self._data.plans.get(code)

    async def list_public(self) -> list[Plan]:
        return sorted(
            (p for p in self._data.plans.values() if p.public), key=lambda p: (p.sort_order, p.code)
        )


class FakeSubscriptions(_Part):
    async def get(self, *, for_update: bool = False) -> Subscription | None:
        if self._uow.workspace_id is None:
            return None
        return self._data.subscriptions.get(self._ws)

    async def add(self, subscription: Subscription) -> None:
        assert subscription.workspace_id == self._ws
        assert subscription.workspace_id not in self._data.subscriptions
        self._data.subscriptions[subscription.workspace_id] = subscription

    async def save(self, subscription: Subscription) -> None:
        assert subscription.workspace_id == self._ws
        self._data.subscriptions[subscription.workspace_id] = subscription


class FakeCreditLedger(_Part):
    def _ledger(self) -> Ledger | None:
        return self._data.ledgers.get(self._ws)

    def _sync_ids(self, ledger: Ledger) -> None:
        ids = self._data.entry_ids.setdefault(self._ws, [])
        while len(ids) < len(ledger.entries):
            ids.append(_id())

    def _entitled(self, now: datetime) -> None:
        subscription = self._data.subscriptions.get(self._ws)
        if subscription is None:
            raise SubscriptionInactive("no subscription")
        subscription.require_access(now, "AI work")

    async def reserve(
        self, operation: Operation | str, estimated_tokens: int, operation_id: str, *, now
    ) -> Reservation:
        ledger = self._ledger() or Ledger()
        if not any(r.operation_id == operation_id for r in ledger.reservations.values()):
            self._entitled(now)
        reservation = ledger.reserve(
            id=_id(),
            op=operation,
            estimated_tokens=estimated_tokens,
            operation_id=operation_id,
            now=now,
        )
        self._data.ledgers[self._ws] = ledger
        return reservation

    async def settle(self, reservation_id: UUID, tokens: int, *, now) -> Reservation:
        ledger = self._ledger()
        if ledger is None:
            raise ReservationClosed()
        settled = ledger.settle(reservation_id, tokens, now)
        self._sync_ids(ledger)
        return settled

    async def release(self, reservation_id: UUID, *, now) -> bool:
        ledger = self._ledger()
        return ledger is not None and ledger.release(reservation_id, now)

    async def open_account(self) -> None:
        self._data.ledgers.setdefault(self._ws, Ledger())

    async def start_period(self, *, start, end, grant, now, reason=None, actor=None):
        ledger = self._ledger()
        if ledger is None:
            return None
        expired = ledger.start_period(start, end, grant, now)
        self._sync_ids(ledger)
        return expired

    async def top_up(self, *, start, target, now, reason=None, actor=None):
        ledger = self._ledger()
        if ledger is None:
            return None
        amount = ledger.top_up(start, target, now)
        self._sync_ids(ledger)
        return amount

    async def add_kept(self, *, kind, amount, operation_id, now, reason=None, actor=None) -> bool:
        ledger = self._ledger()
        if ledger is None:
            return False
        added = ledger.add_kept(kind, amount, operation_id, now)
        self._sync_ids(ledger)
        return added

    async def balance(self) -> CreditBalance | None:
        ledger = self._ledger()
        if ledger is None:
            return None
        a = ledger.account
        return CreditBalance(
            available=a.available,
            allowance=a.allowance,
            purchased=a.purchased,
            reserved=a.reserved,
            period_granted=a.period_granted,
            period_spent=a.period_spent,
            period_start=a.period_start,
            period_end=a.period_end,
        )

    async def open_reservations(self) -> tuple[int, int]:
        ledger = self._ledger()
        held = [] if ledger is None else ledger.open_reservations()
        return len(held), sum(r.credits for r in held)

    async def lines(self, *, limit: int, before: UUID | None) -> list[LedgerLine]:
        ledger = self._ledger()
        if ledger is None:
            return []
        ids = self._data.entry_ids.get(self._ws, [])
        lines = [
            LedgerLine(
                id=line_id,
                kind=EntryKind(entry.kind),
                amount=entry.amount,
                operation_id=entry.operation_id,
                at=entry.at,
                reservation_id=entry.reservation_id,
            )
            for line_id, entry in zip(ids, ledger.entries, strict=True)
        ]
        lines.sort(key=lambda line: line.id, reverse=True)
        if before is not None:
            lines = [line for line in lines if line.id < before]
        return lines[:limit]


class FakeLimits(_Part):
    async def admit(self, *checks: Check, at: datetime) -> None:
        staged = copy.deepcopy(self._data.counters)
        for check in checks:
            subscription = self._data.subscriptions.get(self._ws)
            if subscription is None:
                raise SubscriptionInactive("no subscription")
            if check.metric.sending:
                subscription.require_access(at, "sending")
            if check.metric in SUBJECT_METRICS:
                limit = check.limit
            else:
                plan = self._data.plans[subscription.plan_code]
                limit = plan_limit(check.metric, subscription.limits(plan))
            key = (
                self._ws,
                check.metric.value,
                check.subject or "",
                period_key(check.metric, at, check.time_zone),
            )
            used = staged.get(key, [0, None])[0]
            if not admits(used, check.amount, limit):
                raise LimitReached(check.metric, limit)
            staged[key] = [used + check.amount, limit]
        self._data.counters = staged

    async def admit_up_to(self, metric: Metric, amount: int, *, at: datetime) -> int:
        subscription = self._data.subscriptions.get(self._ws)
        if subscription is None:
            raise SubscriptionInactive("no subscription")
        limit = plan_limit(metric, subscription.limits(self._data.plans[subscription.plan_code]))
        key = (self._ws, metric.value, "", period_key(metric, at))
        used = self._data.counters.get(key, [0, None])[0]
        room = amount if limit is None else max(0, min(amount, limit - used))
        if room:
            self._data.counters[key] = [used + room, limit]
        return room

    async def room(self, metric: Metric, *, at: datetime) -> Room:
        subscription = self._data.subscriptions.get(self._ws)
        if subscription is None:
            raise SubscriptionInactive("no subscription")
        limit = plan_limit(metric, subscription.limits(self._data.plans[subscription.plan_code]))
        used = self._data.counters.get((self._ws, metric.value, "", period_key(metric, at)), [0])[0]
        return Room(limit=limit, left=None if limit is None else max(0, limit - used))

    async def give_back(self, metric: Metric, amount: int = 1, *, at, subject=None) -> None:
        key = (self._ws, metric.value, subject or "", period_key(metric, at))
        if key in self._data.counters:
            self._data.counters[key][0] = max(0, self._data.counters[key][0] - amount)

    async def set_used(self, metric: Metric, used: int, *, at, subject=None) -> None:
        key = (self._ws, metric.value, subject or "", period_key(metric, at))
        previous = self._data.counters.get(key, [0, None])
        self._data.counters[key] = [used, previous[1]]

    async def current(self, at: datetime) -> list[CounterValue]:
        keys = {period_key(m, at) for m in Metric}
        return [
            CounterValue(
                metric=Metric(metric),
                period=period,
                used=value[0],
                subject=subject or None,
                last_limit=value[1],
            )
            for (ws, metric, subject, period), value in sorted(self._data.counters.items())
            if ws == self._ws and (period in keys or subject)
        ]


def attach_billing(uow: Any) -> None:
    uow.billing_data = copy.deepcopy(billing_of(uow.store))
    uow.plans = FakePlans(uow)
    uow.subscriptions = FakeSubscriptions(uow)
    uow.credit_ledger = FakeCreditLedger(uow)
    uow.limits = FakeLimits(uow)


def commit_billing(uow: Any) -> None:
    uow.store.billing = uow.billing_data
    uow.billing_data = copy.deepcopy(uow.billing_data)
