"""The offline payments stand-in of the embedded default (no Stripe API key).

It labels itself everywhere (``provider: "offline"``, ids ``*_offline_*``, URLs with
``provider=offline``) and takes no money: a checkout completes on the spot — the subscription is
active and its first invoice paid — and the change of plan in its "portal" is confirmed at once.
What it did comes back as provider events on the hosted page, which the handlers apply through
the same code as Stripe's webhooks (``application/billing/provider_events``).

Subscriptions bought here are run like an operator's (``Source.OPERATOR``): nothing renews
them at the provider, so the scheduler renews their periods and grants their credits. Its state
lives in the process's memory and is deterministic given the clock; a restart forgets it (the
workspace keeps its plan; a new checkout starts a new subscription).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from scaliyo.adapters.ids import new_id
from scaliyo.application.billing.payments import (
    CheckoutRequest,
    HostedPage,
    InvoicePage,
    PaymentEvent,
    PaymentsRefused,
    PlanSwitch,
    ProviderInvoice,
    ProviderSubscription,
)
from scaliyo.application.shared.ports import Clock
from scaliyo.domain.billing.periods import add_months, interval_months
from scaliyo.domain.billing.plans import Interval
from scaliyo.domain.billing.subscriptions import Source, SubscriptionStatus
from scaliyo.domain.shared.ids import WorkspaceId

PROVIDER = "offline"


class OfflinePayments:
    provider = PROVIDER
    source = Source.OPERATOR
    needs_price_ids = False

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._subscriptions: dict[str, ProviderSubscription] = {}
        self._invoices: dict[str, list[ProviderInvoice]] = {}
        self._pages: dict[str, HostedPage] = {}

    async def create_customer(
        self, *, workspace_id: WorkspaceId, name: str | None, idempotency_key: str
    ) -> str:
        return f"cus_offline_{workspace_id.hex}"

    async def create_checkout(self, request: CheckoutRequest) -> HostedPage:
        if page := self._pages.get(request.idempotency_key):
            return page
        now = self._clock.now()
        number = _unique()
        subscription = ProviderSubscription(
            id=f"sub_offline_{number}",
            customer_id=request.customer_id,
            status=SubscriptionStatus.ACTIVE,
            current_period_start=now,
            current_period_end=_period_end(now, request.interval),
            created=now,
            plan_code=request.plan_code,
            interval=request.interval,
            workspace_id=str(request.workspace_id),
        )
        self._subscriptions[subscription.id] = subscription
        invoice = self._paid_invoice(subscription, now)
        session_id = f"cs_offline_{number}"
        url = request.success_url.replace("{CHECKOUT_SESSION_ID}", session_id)
        page = HostedPage(
            id=session_id,
            url=f"{url}{'&' if '?' in url else '?'}provider=offline",
            events=[
                self._event("customer.subscription.created", subscription, now),
                self._event("invoice.paid", subscription, now, invoice),
                self._event("checkout.session.completed", subscription, now),
            ],
        )
        self._pages[request.idempotency_key] = page
        return page

    async def create_portal(
        self,
        *,
        customer_id: str,
        return_url: str,
        idempotency_key: str,
        switch: PlanSwitch | None = None,
    ) -> HostedPage:
        if page := self._pages.get(idempotency_key):
            return page
        number = _unique()
        url = f"{return_url}{'&' if '?' in return_url else '?'}portal=offline"
        events: list[PaymentEvent] = []
        if switch is not None:
            events = self._switch(customer_id, switch)
        page = HostedPage(id=f"bps_offline_{number}", url=url, events=events)
        self._pages[idempotency_key] = page
        return page

    async def list_invoices(
        self, *, customer_id: str, limit: int, starting_after: str | None
    ) -> InvoicePage:
        invoices = self._invoices.get(customer_id, [])[::-1]
        if starting_after is not None:
            ids = [invoice.id for invoice in invoices]
            invoices = invoices[ids.index(starting_after) + 1 :] if starting_after in ids else []
        return InvoicePage(items=invoices[:limit], has_more=len(invoices) > limit)

    async def get_subscription(self, subscription_id: str) -> ProviderSubscription | None:
        return self._subscriptions.get(subscription_id)

    def _switch(self, customer_id: str, switch: PlanSwitch) -> list[PaymentEvent]:
        current = self._subscriptions.get(switch.subscription_id)
        if current is None or current.customer_id != customer_id:
            raise PaymentsRefused("The offline stand-in has no such subscription (restarted?).")
        now = self._clock.now()
        changed = msgspec.structs.replace(
            current, plan_code=switch.plan_code, interval=switch.interval
        )
        events = []
        if switch.interval is not current.interval:
            # A new interval starts a new period, paid at once.
            changed = msgspec.structs.replace(
                changed,
                current_period_start=now,
                current_period_end=_period_end(now, switch.interval),
            )
            invoice = self._paid_invoice(changed, now)
            events.append(self._event("invoice.paid", changed, now, invoice))
        self._subscriptions[changed.id] = changed
        return [self._event("customer.subscription.updated", changed, now), *events]

    def _paid_invoice(self, subscription: ProviderSubscription, now: datetime) -> ProviderInvoice:
        invoices = self._invoices.setdefault(subscription.customer_id, [])
        invoice = ProviderInvoice(
            id=f"in_offline_{_unique()}",
            number=f"OFFLINE-{len(invoices) + 1:04d}",
            status="paid",
            currency="usd",
            amount_due=0,
            amount_paid=0,
            total=0,
            created=now,
            subscription_id=subscription.id,
            billed_period_start=subscription.current_period_start,
            billed_period_end=subscription.current_period_end,
        )
        invoices.append(invoice)
        return invoice

    def _event(
        self,
        type: str,
        subscription: ProviderSubscription,
        now: datetime,
        invoice: ProviderInvoice | None = None,
    ) -> PaymentEvent:
        return PaymentEvent(
            id=f"evt_offline_{_unique()}",
            type=type,
            created=now,
            customer_id=subscription.customer_id,
            subscription_id=subscription.id,
            invoice=invoice,
        )


def _unique() -> str:
    """Ids stay unique across restarts (applied event ids are remembered in the database)."""
    return new_id().hex


def _period_end(start: datetime, interval: Interval) -> datetime:
    return add_months(start, interval_months(interval))
