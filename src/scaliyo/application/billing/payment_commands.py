"""Commands, queries and views of paying: checkout, the billing portal, invoices and provider
events."""

from __future__ import annotations

import msgspec

from scaliyo.application.billing.payments import PaymentEvent
from scaliyo.application.bus import Command, Query
from scaliyo.application.shared.pagination import DEFAULT_LIMIT
from scaliyo.domain.billing.plans import Interval


class CheckoutView(msgspec.Struct, kw_only=True):
    """Where to send the owner. ``kind``: ``checkout`` (a new subscription) or ``plan_change``
    (the portal page confirming the change of an existing one). ``completed``: the offline
    stand-in applied the change already."""

    url: str
    provider: str
    kind: str
    completed: bool


class PortalView(msgspec.Struct, kw_only=True):
    url: str
    provider: str


class InvoiceView(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    status: str | None
    currency: str
    amount_due: int
    amount_paid: int
    total: int
    created: str
    provider: str
    number: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    hosted_invoice_url: str | None = None
    pdf_url: str | None = None


class StartCheckout(Command, frozen=True, kw_only=True):
    """The owner buys ``plan`` billed every ``interval``. ``operation_id`` names this attempt
    (the request's Idempotency-Key, or a new id): the provider's idempotency keys derive from it."""

    plan: str
    interval: Interval
    operation_id: str


class OpenBillingPortal(Command, frozen=True, kw_only=True):
    operation_id: str


class ListInvoices(Query, frozen=True, kw_only=True):
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


class ApplyPaymentEvent(Command, frozen=True, kw_only=True):
    """The webhook: apply a verified provider event to the workspace it was routed to."""

    event: PaymentEvent
