"""Ports of billing: plans, the subscription, and the limits port.

``UsageLimits`` (``uow.limits``) is what every module calls where a counted thing is created,
in the transaction that creates it::

    await uow.limits.admit(Check(metric=Metric.CONTACTS, amount=len(rows)), at=now)
    ...insert the contacts...
    await uow.commit()

Each check is one conditional statement that compares and counts at once, so concurrent
creations cannot pass a limit together; several checks given together are admitted all or none.
A refusal raises ``limit_reached`` (409) — or, for sending metrics, ``trial_ended`` /
``subscription_inactive`` (402) when the subscription has stopped sending — and counts nothing.
When the thing goes away (a contact deleted, a seat freed) the module gives the count back.
Limits come from the workspace's plan (seats: plus bought seats); a sender's daily count takes
the sender's own cap as ``Check.limit`` and its time zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import msgspec

from scaliyo.application.credits.ports import CreditLedger
from scaliyo.application.shared.audit import AuditTrail
from scaliyo.application.shared.ports import BaseUnitOfWork
from scaliyo.domain.billing.plans import Plan
from scaliyo.domain.billing.subscriptions import Subscription
from scaliyo.domain.usage.counters import Check, Metric


class PlanRepository(Protocol):
    """Plans are platform data: every workspace reads them, none writes them."""

    async def get(self, code: str) -> Plan | None: ...

    async def list_public(self) -> list[Plan]:
        """The plans on sale, in their display order."""
        ...


class SubscriptionRepository(Protocol):
    """The subscription of the unit of work's workspace."""

    async def get(self, *, for_update: bool = False) -> Subscription | None:
        """``for_update`` locks it until the transaction ends: changes to one subscription run
        one at a time."""
        ...

    async def add(self, subscription: Subscription) -> None: ...

    async def save(self, subscription: Subscription) -> None: ...


class CounterValue(msgspec.Struct, frozen=True, kw_only=True):
    metric: Metric
    period: str
    used: int
    subject: str | None = None
    # The limit the last admitted check was held to (a sender's cap, for one).
    last_limit: int | None = None


class Room(msgspec.Struct, frozen=True, kw_only=True):
    limit: int | None  # None: the plan sets no limit
    left: int | None  # what the limit leaves (never below 0); None without a limit


class UsageLimits(Protocol):
    """The limits port, bound to the unit of work's workspace and transaction."""

    async def admit(self, *checks: Check, at: datetime) -> None:
        """Count every check, or none and raise (``limit_reached``, ``trial_ended`` …)."""
        ...

    async def admit_up_to(self, metric: Metric, amount: int, *, at: datetime) -> int:
        """Count as many of ``amount`` as the plan's limit leaves room for (a workspace
        counter, not a sending one); how many were counted. For partial work such as imports."""
        ...

    async def room(self, metric: Metric, *, at: datetime) -> Room:
        """What the plan's limit leaves of a workspace counter now (nothing is counted or
        locked: a hint for refusing early; ``admit`` decides)."""
        ...

    async def give_back(
        self, metric: Metric, amount: int = 1, *, at: datetime, subject: str | None = None
    ) -> None:
        """Count ``amount`` less (never below 0), in the period holding ``at``."""
        ...

    async def set_used(
        self, metric: Metric, used: int, *, at: datetime, subject: str | None = None
    ) -> None:
        """Set a gauge to what really exists (a reconciliation, never a check)."""
        ...

    async def current(self, at: datetime) -> list[CounterValue]:
        """Every counter of the periods holding ``at``."""
        ...


class BillingUnitOfWork(BaseUnitOfWork, Protocol):
    plans: PlanRepository
    subscriptions: SubscriptionRepository
    credit_ledger: CreditLedger
    limits: UsageLimits
    audit: AuditTrail
