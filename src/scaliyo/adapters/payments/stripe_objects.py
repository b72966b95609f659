"""Stripe's objects (API version 2026-10-28.endive, stripe 16) read into the payments port's
values.

Where that API version keeps things: a Subscription's period dates live on its items
(``items.data[].current_period_start/end``), not on the subscription; an Invoice names its
subscription under ``parent.subscription_details.subscription`` and the period it bills on its
subscription line (``lines.data[].parent.subscription_item_details`` with ``period``); an
expandable field is an id or the expanded object. Statuses are reduced to ours: ``active`` and
``trialing`` are active, ``past_due`` and ``unpaid`` past due, ``incomplete`` and ``paused``
incomplete, ``canceled`` and ``incomplete_expired`` ended.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scaliyo.application.billing.payments import (
    PaymentEvent,
    ProviderInvoice,
    ProviderSubscription,
)
from scaliyo.domain.billing.plans import Interval
from scaliyo.domain.billing.subscriptions import EndReason, SubscriptionStatus

_STATUS: dict[str, tuple[SubscriptionStatus, EndReason | None]] = {
    "active": (SubscriptionStatus.ACTIVE, None),
    "trialing": (SubscriptionStatus.ACTIVE, None),
    "past_due": (SubscriptionStatus.PAST_DUE, None),
    "unpaid": (SubscriptionStatus.PAST_DUE, None),
    "incomplete": (SubscriptionStatus.INCOMPLETE, None),
    "paused": (SubscriptionStatus.INCOMPLETE, None),
    "canceled": (SubscriptionStatus.CANCELED, EndReason.CANCELED),
    "incomplete_expired": (SubscriptionStatus.CANCELED, EndReason.INCOMPLETE_EXPIRED),
}


class UnreadableObject(ValueError):
    """A Stripe object lacks what we need of it (never a Stripe object of this API version)."""


def moment(seconds: Any) -> datetime | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(int(seconds), UTC)


def ref(value: Any) -> str | None:
    """An expandable field's id: the id itself, or the expanded object's."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value.get("id")
    raise UnreadableObject(f"not an id or an object: {type(value).__name__}")


def subscription_of(data: dict[str, Any]) -> ProviderSubscription:
    if data.get("object") != "subscription":
        raise UnreadableObject("not a subscription")
    items = (data.get("items") or {}).get("data") or []
    if not items:
        raise UnreadableObject(f"subscription {data.get('id')} has no items")
    item = items[0]
    start, end = moment(item.get("current_period_start")), moment(item.get("current_period_end"))
    if start is None or end is None:
        raise UnreadableObject(f"subscription {data.get('id')} has no period on its item")
    price = item.get("price") or {}
    recurring = price.get("recurring") or {}
    status, end_reason = _STATUS.get(
        data.get("status") or "", (SubscriptionStatus.INCOMPLETE, None)
    )
    cancel_at = moment(data.get("cancel_at"))
    ended = moment(data.get("ended_at")) or moment(data.get("canceled_at"))
    metadata = data.get("metadata") or {}
    return ProviderSubscription(
        id=data["id"],
        customer_id=ref(data.get("customer")) or "",
        status=status,
        end_reason=end_reason,
        current_period_start=start,
        current_period_end=end,
        created=moment(data.get("created")) or start,
        price_id=price.get("id"),
        interval=_interval(recurring.get("interval")),
        # Cancelling in the portal may set cancel_at (at the period's end) instead of the flag.
        cancel_at_period_end=bool(data.get("cancel_at_period_end"))
        or (cancel_at is not None and cancel_at <= end),
        ended_at=ended if status is SubscriptionStatus.CANCELED else None,
        workspace_id=metadata.get("workspace_id"),
    )


def invoice_of(data: dict[str, Any]) -> ProviderInvoice:
    if data.get("object") != "invoice":
        raise UnreadableObject("not an invoice")
    parent = data.get("parent") or {}
    details = parent.get("subscription_details") or {}
    subscription_id = (
        ref(details.get("subscription")) if parent.get("type") == ("subscription_details") else None
    )
    billed = _billed_period(data)
    created = moment(data.get("created"))
    if created is None:
        raise UnreadableObject(f"invoice {data.get('id')} has no creation time")
    return ProviderInvoice(
        id=data["id"],
        number=data.get("number"),
        status=data.get("status"),
        currency=data.get("currency") or "usd",
        amount_due=int(data.get("amount_due") or 0),
        amount_paid=int(data.get("amount_paid") or 0),
        total=int(data.get("total") or 0),
        created=created,
        subscription_id=subscription_id,
        billed_period_start=billed[0],
        billed_period_end=billed[1],
        hosted_invoice_url=data.get("hosted_invoice_url"),
        pdf_url=data.get("invoice_pdf"),
    )


def _billed_period(invoice: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The period of the invoice's subscription line (the subscription period it bills)."""
    lines = (invoice.get("lines") or {}).get("data") or []
    for line in lines:
        if (line.get("parent") or {}).get("type") == "subscription_item_details":
            period = line.get("period") or {}
            return moment(period.get("start")), moment(period.get("end"))
    return None, None


def event_of(data: dict[str, Any]) -> PaymentEvent:
    """A webhook event, with the customer and subscription its object names."""
    if data.get("object") != "event" or not data.get("id") or not data.get("type"):
        raise UnreadableObject("not an event")
    obj = (data.get("data") or {}).get("object") or {}
    kind = obj.get("object")
    invoice = None
    if kind == "subscription":
        subscription_id = obj.get("id")
    elif kind == "invoice":
        invoice = invoice_of(obj)
        subscription_id = invoice.subscription_id
    elif kind == "checkout.session":
        subscription_id = ref(obj.get("subscription"))
    else:
        subscription_id = None
    created = moment(data.get("created"))
    if created is None:
        raise UnreadableObject(f"event {data['id']} has no creation time")
    return PaymentEvent(
        id=data["id"],
        type=data["type"],
        created=created,
        customer_id=ref(obj.get("customer")),
        subscription_id=subscription_id,
        invoice=invoice,
    )


def _interval(raw: Any) -> Interval | None:
    try:
        return Interval(raw)
    except ValueError:
        return None
