"""Applying a payment provider's event to the workspace's subscription and credits.

One code path for Stripe's webhooks and for what the offline stand-in does at once: the event
only says *which* subscription to look at; the subscription is read again from the provider and
followed (``domain/billing/provider_sync.follow``), so the result does not depend on the order
events come in or on how often they come.

Rules of ``apply_provider_event`` (inside the caller's tenant transaction, which it commits not):
- an event without a subscription (a one-off payment) or for another customer than the
  workspace's is acknowledged and changes nothing;
- the subscription row is locked first, so the events of one workspace apply one at a time;
- the workspace follows one provider subscription: a different subscription is followed only
  when it is live and the workspace's is not (its first checkout, or a new one after an end);
  an ended subscription that is not the workspace's changes nothing;
- a price that is no plan's (monthly or annual price id) changes nothing (``unknown_price``);
- credits: a subscription that becomes active starts its credit period with the plan's
  allowance (the expired trial's allowance goes); an upgrade tops the period's allowance up to
  the new plan's; an end expires the allowance; ``invoice.paid`` grants the credit period of the
  period it bills, if that is the subscription's current one — once per period, whatever else
  granted it (the ledger keys grants by the period's start);
- every change is announced in the outbox and audited (actor: system).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum

from scaliyo.application.billing.payments import (
    PaymentEvent,
    Payments,
    PaymentsUnitOfWork,
    ProviderSubscription,
)
from scaliyo.application.bus import Context
from scaliyo.application.shared.audit import audit_entry
from scaliyo.domain.billing.plans import Plan, PlanNotFound
from scaliyo.domain.billing.provider_sync import (
    Change,
    Followed,
    ProviderState,
    SubscriptionUpdated,
    follow,
)
from scaliyo.domain.billing.subscriptions import (
    PAID,
    PlanChanged,
    Subscription,
    SubscriptionActivated,
    SubscriptionCanceled,
    SubscriptionNotFound,
    SubscriptionRenewed,
    SubscriptionStatus,
)

log = logging.getLogger("scaliyo.billing.payments")

CHECKOUT_COMPLETED = "checkout.session.completed"
SUBSCRIPTION_CREATED = "customer.subscription.created"
SUBSCRIPTION_UPDATED = "customer.subscription.updated"
SUBSCRIPTION_DELETED = "customer.subscription.deleted"
INVOICE_PAID = "invoice.paid"
INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
HANDLED_EVENTS = frozenset(
    {
        CHECKOUT_COMPLETED,
        SUBSCRIPTION_CREATED,
        SUBSCRIPTION_UPDATED,
        SUBSCRIPTION_DELETED,
        INVOICE_PAID,
        INVOICE_PAYMENT_FAILED,
    }
)

_PLAN_CHANGES = {Change.UPGRADED, Change.DOWNGRADE_SCHEDULED, Change.DOWNGRADE_CLEARED}
_STATUS_CHANGES = {
    Change.CANCEL_SCHEDULED,
    Change.RESUMED,
    Change.PAST_DUE,
    Change.RECOVERED,
    Change.INCOMPLETE,
}


class EventOutcome(StrEnum):
    APPLIED = "applied"  # the subscription or the credits changed
    UNCHANGED = "unchanged"  # already in the provider's state
    DUPLICATE = "duplicate"  # this event id was applied before
    IGNORED = "ignored"  # an event type we do not handle, or one without a subscription
    UNKNOWN_CUSTOMER = "unknown_customer"
    UNKNOWN_SUBSCRIPTION = "unknown_subscription"
    OTHER_SUBSCRIPTION = "other_subscription"
    UNKNOWN_PRICE = "unknown_price"


async def apply_provider_event(
    uow: PaymentsUnitOfWork,
    payments: Payments,
    event: PaymentEvent,
    *,
    now: datetime,
    context: Context,
) -> EventOutcome:
    if event.type not in HANDLED_EVENTS or event.subscription_id is None:
        return EventOutcome.IGNORED
    account = await uow.payment_accounts.get(payments.provider)
    if account is None or (event.customer_id and event.customer_id != account.customer_id):
        return EventOutcome.UNKNOWN_CUSTOMER
    local = await uow.subscriptions.get(for_update=True)
    if local is None:
        raise SubscriptionNotFound()
    remote = await payments.get_subscription(event.subscription_id)
    if remote is None:
        return EventOutcome.UNKNOWN_SUBSCRIPTION
    if remote.customer_id != account.customer_id:
        return EventOutcome.UNKNOWN_CUSTOMER
    if account.subscription_id != remote.id:
        ours_is_live = local.status in PAID and local.source is payments.source
        if remote.status is SubscriptionStatus.CANCELED or (
            account.subscription_id is not None and ours_is_live
        ):
            return EventOutcome.OTHER_SUBSCRIPTION
    resolved = await _provider_plan(uow, remote, local)
    if resolved is None:
        log.warning(
            "provider subscription on an unknown price",
            extra={"event_id": event.id, "subscription_id": remote.id, "price": remote.price_id},
        )
        return EventOutcome.UNKNOWN_PRICE
    target, state = resolved
    current = await _plan(uow, local.plan_code)
    followed = follow(local, state, current=current, target=target, source=payments.source, now=now)
    if account.subscription_id != remote.id:
        await uow.payment_accounts.set_subscription(payments.provider, remote.id, now)
    subscription = followed.subscription
    if subscription != local:
        await uow.subscriptions.save(subscription)
    plan = (
        target
        if subscription.plan_code == target.code
        else await _plan(uow, subscription.plan_code)
    )
    credited = await _credit_effects(uow, followed, plan, now)
    if event.type == INVOICE_PAID and _bills_current_period(event, subscription):
        credited = await _grant_period(uow, subscription, plan, now, "invoice paid") or credited
    _announce(uow, followed, local)
    if followed.changed or credited:
        await uow.audit.record(
            audit_entry(
                context,
                "subscription.provider_synced",
                workspace_id=subscription.workspace_id,
                target=f"workspace:{subscription.workspace_id}",
                details={
                    "provider": payments.provider,
                    "event_id": event.id,
                    "event_type": event.type,
                    "subscription_id": remote.id,
                    "changes": sorted(change.value for change in followed.changes),
                    "plan": subscription.plan_code,
                    "status": subscription.status.value,
                    "credits_added": credited,
                },
            )
        )
        return EventOutcome.APPLIED
    return EventOutcome.APPLIED if subscription != local else EventOutcome.UNCHANGED


async def _plan(uow: PaymentsUnitOfWork, code: str) -> Plan:
    plan = await uow.plans.get(code)
    if plan is None:
        raise PlanNotFound(f"There is no plan {code!r}.")
    return plan


async def _provider_plan(
    uow: PaymentsUnitOfWork, remote: ProviderSubscription, local: Subscription
) -> tuple[Plan, ProviderState] | None:
    """The plan of the provider's price and the provider's state on it; None when the price is
    no plan's. An ended subscription needs no plan: it ends ours whatever it was priced at."""
    code, interval = remote.plan_code, remote.interval
    if remote.price_id is not None and (price := await uow.plan_prices.find(remote.price_id)):
        code, interval = price.plan_code, price.interval
    if remote.status is SubscriptionStatus.CANCELED and (code is None or interval is None):
        code, interval = local.plan_code, local.interval
    if code is None or interval is None:
        return None
    plan = await uow.plans.get(code)
    if plan is None:
        return None
    state = ProviderState(
        status=remote.status,
        plan_code=plan.code,
        interval=interval,
        period_start=remote.current_period_start,
        period_end=remote.current_period_end,
        cancel_at_period_end=remote.cancel_at_period_end,
        ended_at=remote.ended_at,
        end_reason=remote.end_reason,
    )
    return plan, state


async def _credit_effects(
    uow: PaymentsUnitOfWork, followed: Followed, plan: Plan, now: datetime
) -> int:
    subscription = followed.subscription
    changes = followed.changes
    added = 0
    if Change.ACTIVATED in changes and subscription.status is SubscriptionStatus.ACTIVE:
        await uow.credit_ledger.open_account()
        granted = await _grant_period(uow, subscription, plan, now, f"plan {plan.code}")
        # A provider period that starts before the account's current one (the same second as
        # the trial began): the current period is topped up to the plan's allowance instead.
        added = granted if granted is not None else await _top_up(uow, plan, now, "activation")
    elif Change.UPGRADED in changes:
        added = await _top_up(uow, plan, now, f"upgrade to {plan.code}")
    if Change.CANCELED in changes:
        assert subscription.ended_at is not None
        # The allowance expires when the subscription ended, or now if that lies before the
        # current credit period's start (the provider's times have one-second resolution).
        start = max(subscription.ended_at, now)
        balance = await uow.credit_ledger.balance()
        if balance is not None and balance.period_start is not None:
            start = max(start, balance.period_start + timedelta(microseconds=1))
        await uow.credit_ledger.start_period(
            start=start, end=None, grant=0, now=now, reason="canceled"
        )
    return added


async def _grant_period(
    uow: PaymentsUnitOfWork, subscription: Subscription, plan: Plan, now: datetime, reason: str
) -> int | None:
    """Start the credit period holding ``now`` with the plan's allowance: the credits granted,
    or None when that period (or a later one) was granted already."""
    period = subscription.credit_period(now)
    if period is None:
        return None
    expired = await uow.credit_ledger.start_period(
        start=period[0], end=period[1], grant=plan.limits.ai_credits, now=now, reason=reason
    )
    return None if expired is None else plan.limits.ai_credits


async def _top_up(uow: PaymentsUnitOfWork, plan: Plan, now: datetime, reason: str) -> int:
    balance = await uow.credit_ledger.balance()
    if balance is None or balance.period_start is None:
        return 0
    added = await uow.credit_ledger.top_up(
        start=balance.period_start, target=plan.limits.ai_credits, now=now, reason=reason
    )
    return added or 0


def _bills_current_period(event: PaymentEvent, subscription: Subscription) -> bool:
    if subscription.status not in PAID or event.invoice is None:
        return False
    billed = event.invoice.billed_period_start
    return billed is None or billed == subscription.current_period_start


def _announce(uow: PaymentsUnitOfWork, followed: Followed, before: Subscription) -> None:
    sub = followed.subscription
    changes = followed.changes
    common = {
        "workspace_id": sub.workspace_id,
        "aggregate_id": sub.workspace_id,
        "plan": sub.plan_code,
        "status": sub.status.value,
    }
    if Change.ACTIVATED in changes:
        uow.record(SubscriptionActivated(**common, interval=sub.interval.value))
    if Change.RENEWED in changes:
        uow.record(
            SubscriptionRenewed(
                **common, period_start=sub.current_period_start, period_end=sub.current_period_end
            )
        )
    for change in sorted(changes & _PLAN_CHANGES):
        uow.record(PlanChanged(**common, previous_plan=before.plan_code, change=change.value))
    if Change.CANCELED in changes:
        assert sub.ended_reason is not None
        uow.record(SubscriptionCanceled(**common, reason=sub.ended_reason.value))
    status_changes = sorted(change.value for change in changes & _STATUS_CHANGES)
    if status_changes:
        uow.record(SubscriptionUpdated(**common, changes=status_changes))
