"""The ``payments`` port: customers, hosted checkout and portal pages, invoices and subscriptions
at a payment provider (Stripe; an offline stand-in for the embedded default).

What the provider tells us comes back as the plain values below, never as the provider's own
objects. Every call that creates something takes an idempotency key derived from our own
operation id, so a retried call creates nothing twice. Failures are typed:
``payments_unavailable`` (503: the provider could not be reached, timed out or failed; retrying
later may work) and ``payments_refused`` (502: the provider refused the request — a price id or
the API key is wrong — which an operator must fix).

The unit of work of the payment handlers adds two repositories to billing's: the workspace's
customer at each provider (``payment_accounts``) and the log of provider events already applied
(``payment_events``, one row per event id, written first in the transaction of the effect).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import msgspec

from scaliyo.application.billing.ports import BillingUnitOfWork
from scaliyo.application.identity.ports import WorkspaceRepository
from scaliyo.domain.billing.plans import Interval
from scaliyo.domain.billing.subscriptions import EndReason, Source, SubscriptionStatus
from scaliyo.domain.shared.errors import DomainError, ErrorKind
from scaliyo.domain.shared.ids import WorkspaceId


class PaymentsUnavailable(DomainError):
    code = "payments_unavailable"
    kind = ErrorKind.UNAVAILABLE
    title = "The payment provider is unavailable"


class PaymentsRefused(DomainError):
    code = "payments_refused"
    kind = ErrorKind.UNAVAILABLE
    title = "The payment provider refused the request"


class ProviderInvoice(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    status: str | None
    currency: str
    amount_due: int
    amount_paid: int
    total: int
    created: datetime
    number: str | None = None
    subscription_id: str | None = None
    # The subscription period the invoice bills (its subscription line's period), when known.
    billed_period_start: datetime | None = None
    billed_period_end: datetime | None = None
    hosted_invoice_url: str | None = None
    pdf_url: str | None = None


class InvoicePage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ProviderInvoice]
    has_more: bool


class ProviderSubscription(msgspec.Struct, frozen=True, kw_only=True):
    """A provider subscription as it is now. ``status`` is reduced to ours (active, past_due,
    incomplete, canceled; ``end_reason`` tells how it ended). The plan is named by ``price_id``
    (Stripe: looked up in the plans' price ids) or, for the offline stand-in, by ``plan_code``
    and ``interval`` directly."""

    id: str
    customer_id: str
    status: SubscriptionStatus
    current_period_start: datetime
    current_period_end: datetime
    created: datetime
    price_id: str | None = None
    plan_code: str | None = None
    interval: Interval | None = None
    cancel_at_period_end: bool = False
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    workspace_id: str | None = None


class PaymentEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A verified provider event, reduced to what routing and the handlers need."""

    id: str
    type: str
    created: datetime
    customer_id: str | None = None
    subscription_id: str | None = None
    invoice: ProviderInvoice | None = None


class HostedPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page at the provider the user is sent to. ``events`` are what the offline stand-in
    did at once (its checkout completes on the spot); they are applied as a webhook's would be."""

    id: str
    url: str
    events: list[PaymentEvent] = msgspec.field(default_factory=list)


class CheckoutRequest(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: WorkspaceId
    customer_id: str
    plan_code: str
    interval: Interval
    price_id: str | None
    success_url: str
    cancel_url: str
    idempotency_key: str


class PlanSwitch(msgspec.Struct, frozen=True, kw_only=True):
    """Move an existing subscription to another price (a portal confirmation page)."""

    subscription_id: str
    plan_code: str
    interval: Interval
    price_id: str | None


class Payments(Protocol):
    # "stripe" or "offline": shown in answers, and the key of the stored customer.
    provider: str
    # Who drives the periods of subscriptions bought here (``Source.STRIPE`` for Stripe).
    source: Source
    # Stripe needs each plan's price id; the offline stand-in needs none.
    needs_price_ids: bool

    async def create_customer(
        self, *, workspace_id: WorkspaceId, name: str | None, idempotency_key: str
    ) -> str:
        """A new customer for the workspace: its id."""
        ...

    async def create_checkout(self, request: CheckoutRequest) -> HostedPage:
        """A hosted checkout page for a subscription to the request's price."""
        ...

    async def create_portal(
        self,
        *,
        customer_id: str,
        return_url: str,
        idempotency_key: str,
        switch: PlanSwitch | None = None,
    ) -> HostedPage:
        """The customer's billing portal; with ``switch``, its page confirming a plan change."""
        ...

    async def list_invoices(
        self, *, customer_id: str, limit: int, starting_after: str | None
    ) -> InvoicePage:
        """The customer's invoices, newest first, after the invoice ``starting_after``."""
        ...

    async def get_subscription(self, subscription_id: str) -> ProviderSubscription | None:
        """The subscription as it is now (None: the provider has no such subscription)."""
        ...


class PaymentAccount(msgspec.Struct, frozen=True, kw_only=True):
    """The workspace's customer at one provider and the subscription it pays with there."""

    provider: str
    customer_id: str
    subscription_id: str | None = None


class PaymentAccounts(Protocol):
    """The unit of work's workspace's customers (one per provider)."""

    async def get(self, provider: str) -> PaymentAccount | None: ...

    async def add(self, account: PaymentAccount, now: datetime) -> None: ...

    async def set_subscription(
        self, provider: str, subscription_id: str, now: datetime
    ) -> None: ...


class PaymentEventLog(Protocol):
    async def record(self, *, provider: str, event_id: str, type: str, now: datetime) -> bool:
        """Note the event as applied: True the first time, False when it was noted already.

        A concurrent insert of the same event id waits for the first transaction: if that one
        commits this answers False, so one event has one effect."""
        ...


class PlanPrice(msgspec.Struct, frozen=True, kw_only=True):
    plan_code: str
    interval: Interval


class PlanPrices(Protocol):
    async def find(self, price_id: str) -> PlanPrice | None:
        """The plan and interval whose (monthly or annual) price id this is."""
        ...


class PaymentsUnitOfWork(BillingUnitOfWork, Protocol):
    workspaces: WorkspaceRepository
    payment_accounts: PaymentAccounts
    payment_events: PaymentEventLog
    plan_prices: PlanPrices


class PaymentRouting(Protocol):
    """The platform path that finds a provider event's workspace before a tenant is known."""

    async def workspace_for_customer(
        self, provider: str, customer_id: str
    ) -> WorkspaceId | None: ...
