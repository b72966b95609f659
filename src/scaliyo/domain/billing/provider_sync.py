"""Following a payment provider's subscription (Stripe's, or the offline stand-in).

The provider is the source of truth for a paid subscription: its plan (through the price), its
status and its billing period. Every provider event makes us read the provider's *current*
subscription and ``follow`` it, so applying a state twice changes nothing and the end state does
not depend on the order events arrive in (Stripe neither orders nor deduplicates them, and an
event's ``created`` has one-second resolution).

Rules of ``follow``:
- a provider subscription that has ended (canceled, or expired incomplete) ends ours: canceled,
  with the provider's end time and reason, back on the trial plan (Starter's limits); a
  scheduled downgrade or cancellation is dropped; one that has ended already is left alone;
- a subscription that is not paid for (trialing, canceled, incomplete) or that another source
  runs (the trial, an operator) adopts a live provider subscription: active or past due on its
  plan, interval and period, at once (``activated``). An incomplete provider subscription (its
  first payment still pending) leaves a running trial or paid plan alone and turns an ended
  subscription ``incomplete``;
- a paid subscription of the same source follows it:
  - a later period start is a renewal (``renewed``): the provider's plan, interval and period,
    whatever downgrade was scheduled (the provider's price at renewal is what is paid for);
  - within the period, a dearer plan (``is_upgrade``) applies at once (``upgraded``); a cheaper
    one waits for the period's end (``downgrade_scheduled``); the current plan again clears a
    scheduled downgrade (``downgrade_cleared``);
  - ``cancel_at_period_end`` follows the provider's (``cancel_scheduled`` / ``resumed``);
  - active → past due starts the grace period (``past_due``); past due → active ends it
    (``recovered``);
  - an earlier period start than ours is an out-of-date view and changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

import msgspec

from scaliyo.domain.billing.plans import TRIAL_PLAN_CODE, Interval, Plan, is_upgrade
from scaliyo.domain.billing.subscriptions import (
    PAID,
    STARTABLE,
    EndReason,
    Source,
    Subscription,
    SubscriptionEvent,
    SubscriptionStatus,
)

# The statuses a provider subscription is reduced to (the adapter maps the provider's own).
PROVIDER_STATUSES = frozenset(
    {
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE,
        SubscriptionStatus.INCOMPLETE,
        SubscriptionStatus.CANCELED,
    }
)


class Change(StrEnum):
    ACTIVATED = "activated"
    RENEWED = "renewed"
    UPGRADED = "upgraded"
    DOWNGRADE_SCHEDULED = "downgrade_scheduled"
    DOWNGRADE_CLEARED = "downgrade_cleared"
    CANCEL_SCHEDULED = "cancel_scheduled"
    RESUMED = "resumed"
    PAST_DUE = "past_due"
    RECOVERED = "recovered"
    INCOMPLETE = "incomplete"
    CANCELED = "canceled"


class ProviderState(msgspec.Struct, frozen=True, kw_only=True):
    """A provider subscription as it is now, its price resolved to one of our plans."""

    status: SubscriptionStatus
    plan_code: str
    interval: Interval
    period_start: datetime
    period_end: datetime
    cancel_at_period_end: bool = False
    ended_at: datetime | None = None
    end_reason: EndReason | None = None

    def __post_init__(self) -> None:
        if self.status not in PROVIDER_STATUSES:
            raise ValueError(f"a provider subscription is not {self.status.value}")
        if self.period_end <= self.period_start:
            raise ValueError("a period ends after it starts")


class Followed(msgspec.Struct, frozen=True, kw_only=True):
    subscription: Subscription
    changes: frozenset[Change]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def follow(
    local: Subscription,
    state: ProviderState,
    *,
    current: Plan,
    target: Plan,
    source: Source,
    now: datetime,
) -> Followed:
    """Move ``local`` to the provider's ``state``. ``current`` is ``local``'s plan, ``target``
    the plan of the provider's price (``state.plan_code``)."""
    if current.code != local.plan_code or target.code != state.plan_code:
        raise ValueError("current must be the subscription's plan and target the provider's")
    if state.status is SubscriptionStatus.CANCELED:
        return _ended(local, state, now)
    if local.status in STARTABLE or local.source is not source:
        return _adopted(local, state, source, now)
    return _followed(local, state, current, target, now)


def _ended(local: Subscription, state: ProviderState, now: datetime) -> Followed:
    if local.status is SubscriptionStatus.CANCELED:
        return Followed(subscription=local, changes=frozenset())
    ended = msgspec.structs.replace(
        local,
        status=SubscriptionStatus.CANCELED,
        plan_code=TRIAL_PLAN_CODE,
        pending_plan_code=None,
        cancel_at_period_end=False,
        past_due_since=None,
        ended_at=state.ended_at or now,
        ended_reason=state.end_reason or EndReason.CANCELED,
        updated_at=now,
    )
    return Followed(subscription=ended, changes=frozenset({Change.CANCELED}))


def _adopted(local: Subscription, state: ProviderState, source: Source, now: datetime) -> Followed:
    if state.status is SubscriptionStatus.INCOMPLETE:
        if local.status is not SubscriptionStatus.CANCELED:
            return Followed(subscription=local, changes=frozenset())
        waiting = msgspec.structs.replace(
            local,
            status=SubscriptionStatus.INCOMPLETE,
            plan_code=state.plan_code,
            interval=state.interval,
            source=source,
            current_period_start=state.period_start,
            current_period_end=state.period_end,
            ended_at=None,
            ended_reason=None,
            updated_at=now,
        )
        return Followed(subscription=waiting, changes=frozenset({Change.INCOMPLETE}))
    past_due = state.status is SubscriptionStatus.PAST_DUE
    adopted = msgspec.structs.replace(
        local,
        status=state.status,
        plan_code=state.plan_code,
        interval=state.interval,
        source=source,
        current_period_start=state.period_start,
        current_period_end=state.period_end,
        cancel_at_period_end=state.cancel_at_period_end,
        pending_plan_code=None,
        ended_at=None,
        ended_reason=None,
        past_due_since=now if past_due else None,
        updated_at=now,
    )
    changes = {Change.ACTIVATED}
    if past_due:
        changes.add(Change.PAST_DUE)
    return Followed(subscription=adopted, changes=frozenset(changes))


def _followed(
    local: Subscription, state: ProviderState, current: Plan, target: Plan, now: datetime
) -> Followed:
    assert local.status in PAID
    if state.period_start < local.current_period_start:
        return Followed(subscription=local, changes=frozenset())
    sub = local
    changes: set[Change] = set()
    if state.period_start > local.current_period_start:
        sub = msgspec.structs.replace(
            sub,
            plan_code=target.code,
            pending_plan_code=None,
            interval=state.interval,
            current_period_start=state.period_start,
            current_period_end=state.period_end,
        )
        changes.add(Change.RENEWED)
    else:
        if state.period_end != sub.current_period_end or state.interval is not sub.interval:
            sub = msgspec.structs.replace(
                sub, current_period_end=state.period_end, interval=state.interval
            )
        if target.code == sub.plan_code:
            if sub.pending_plan_code is not None:
                sub = msgspec.structs.replace(sub, pending_plan_code=None)
                changes.add(Change.DOWNGRADE_CLEARED)
        elif target.code != sub.pending_plan_code:
            if is_upgrade(current, target):
                sub = msgspec.structs.replace(sub, plan_code=target.code, pending_plan_code=None)
                changes.add(Change.UPGRADED)
            else:
                sub = msgspec.structs.replace(sub, pending_plan_code=target.code)
                changes.add(Change.DOWNGRADE_SCHEDULED)
    if state.cancel_at_period_end != sub.cancel_at_period_end:
        sub = msgspec.structs.replace(sub, cancel_at_period_end=state.cancel_at_period_end)
        changes.add(Change.CANCEL_SCHEDULED if state.cancel_at_period_end else Change.RESUMED)
    if state.status is SubscriptionStatus.PAST_DUE and sub.status is SubscriptionStatus.ACTIVE:
        sub = sub.payment_failed(now)
        changes.add(Change.PAST_DUE)
    elif state.status is SubscriptionStatus.ACTIVE and sub.status is SubscriptionStatus.PAST_DUE:
        sub = sub.payment_succeeded(now)
        changes.add(Change.RECOVERED)
    if sub != local:
        sub = msgspec.structs.replace(sub, updated_at=now)
    return Followed(subscription=sub, changes=frozenset(changes))


class SubscriptionUpdated(SubscriptionEvent, frozen=True, kw_only=True):
    """The provider changed the subscription's payment state or its cancellation (the changes
    listed: cancel_scheduled, resumed, past_due, recovered, incomplete)."""

    event_type: ClassVar[str] = "subscription.updated"
    changes: list[str]
