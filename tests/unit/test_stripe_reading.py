"""Reading Stripe's objects (API version 2026-10-28.endive) and verifying its webhooks, with the
objects the fake Stripe makes; and the Stripe settings."""

from __future__ import annotations

import copy
import json
import time

import pytest
import stripe

from scaliyo.adapters.payments.stripe_objects import (
    UnreadableObject,
    event_of,
    invoice_of,
    subscription_of,
)
from scaliyo.adapters.payments.stripe_webhooks import (
    InvalidEvent,
    InvalidSignature,
    StripeWebhookVerifier,
    WebhooksNotConfigured,
)
from scaliyo.adapters.settings import Secret, SettingsError, load_settings
from scaliyo.domain.billing.plans import Interval
from scaliyo.domain.billing.subscriptions import EndReason, SubscriptionStatus
from tests.fakes.stripe_server import FakeStripe, form_params


@pytest.fixture
def fake() -> FakeStripe:
    fake = FakeStripe()
    fake.add_price("price_growth_month", unit_amount=7_900, interval="month", product="prod_g")
    fake.add_price("price_growth_year", unit_amount=80_580, interval="year", product="prod_g")
    return fake


def paid_checkout(fake: FakeStripe, price: str = "price_growth_month") -> tuple[dict, list[dict]]:
    customer = fake._create_customer({"metadata": {"workspace_id": "ws-1"}})
    session = fake._create_session(
        {
            "mode": "subscription",
            "customer": customer["id"],
            "client_reference_id": "ws-1",
            "success_url": "https://app.test/ok",
            "line_items": [{"price": price, "quantity": "1"}],
            "subscription_data": {"metadata": {"workspace_id": "ws-1"}},
        }
    )
    events = fake.complete_checkout(session["id"])
    return fake.subscriptions[fake.sessions[session["id"]]["subscription"]], events


def test_a_subscriptions_period_and_price_are_read_from_its_item(fake):
    subscription, _ = paid_checkout(fake, "price_growth_year")
    read = subscription_of(copy.deepcopy(subscription))
    item = subscription["items"]["data"][0]
    assert read.status is SubscriptionStatus.ACTIVE
    assert (read.price_id, read.interval) == ("price_growth_year", Interval.YEAR)
    assert int(read.current_period_start.timestamp()) == item["current_period_start"]
    assert int(read.current_period_end.timestamp()) == item["current_period_end"]
    assert read.workspace_id == "ws-1" and read.customer_id == subscription["customer"]
    assert "current_period_start" not in subscription  # not in this API version


@pytest.mark.parametrize(
    ("stripe_status", "ours", "reason"),
    [
        ("active", SubscriptionStatus.ACTIVE, None),
        ("trialing", SubscriptionStatus.ACTIVE, None),
        ("past_due", SubscriptionStatus.PAST_DUE, None),
        ("unpaid", SubscriptionStatus.PAST_DUE, None),
        ("incomplete", SubscriptionStatus.INCOMPLETE, None),
        ("paused", SubscriptionStatus.INCOMPLETE, None),
        ("canceled", SubscriptionStatus.CANCELED, EndReason.CANCELED),
        ("incomplete_expired", SubscriptionStatus.CANCELED, EndReason.INCOMPLETE_EXPIRED),
    ],
)
def test_stripes_statuses_are_reduced_to_ours(fake, stripe_status, ours, reason):
    subscription, _ = paid_checkout(fake)
    read = subscription_of({**copy.deepcopy(subscription), "status": stripe_status, "ended_at": 1})
    assert (read.status, read.end_reason) == (ours, reason)
    assert (read.ended_at is not None) == (ours is SubscriptionStatus.CANCELED)


def test_cancel_at_the_periods_end_is_read_from_the_flag_or_cancel_at(fake):
    subscription, _ = paid_checkout(fake)
    end = subscription["items"]["data"][0]["current_period_end"]
    assert not subscription_of(copy.deepcopy(subscription)).cancel_at_period_end
    assert subscription_of({**subscription, "cancel_at_period_end": True}).cancel_at_period_end
    assert subscription_of({**subscription, "cancel_at": end}).cancel_at_period_end
    assert not subscription_of({**subscription, "cancel_at": end + 86_400}).cancel_at_period_end


def test_an_invoice_names_its_subscription_under_parent_and_its_period_on_its_line(fake):
    subscription, _ = paid_checkout(fake)
    fake.renew(subscription["id"])
    invoice = fake.latest_invoice(subscription["id"])
    read = invoice_of(invoice)
    item = subscription["items"]["data"][0]
    assert read.subscription_id == subscription["id"]
    assert int(read.billed_period_start.timestamp()) == item["current_period_start"]
    # Stripe's invoice-level period of a renewal is the period that ended, not the billed one.
    assert invoice["period_start"] != item["current_period_start"]
    assert (read.status, read.amount_paid, read.currency) == ("paid", 7_900, "usd")
    assert "subscription" not in invoice


def test_events_name_their_customer_and_subscription(fake):
    subscription, events = paid_checkout(fake)
    read = {event["type"]: event_of(event) for event in events}
    for type in (
        "customer.subscription.created",
        "invoice.paid",
        "checkout.session.completed",
    ):
        assert read[type].customer_id == subscription["customer"], type
        assert read[type].subscription_id == subscription["id"], type
    assert read["invoice.paid"].invoice is not None
    with pytest.raises(UnreadableObject):
        event_of({"object": "list", "data": []})


def test_the_fake_reads_bracketed_form_keys_as_stripe_does():
    assert form_params(
        [
            ("line_items[0][price]", "p"),
            ("line_items[0][quantity]", "1"),
            ("metadata[workspace_id]", "w"),
            ("expand[0]", "items"),
        ]
    ) == {
        "line_items": [{"price": "p", "quantity": "1"}],
        "metadata": {"workspace_id": "w"},
        "expand": ["items"],
    }


def test_signed_webhooks_verify_and_anything_else_is_refused(fake):
    verifier = StripeWebhookVerifier(fake.webhook_secret)
    _, events = paid_checkout(fake)
    body, headers = fake.signed(events[0])
    assert verifier.verify(body, headers["Stripe-Signature"]).id == events[0]["id"]

    now = int(time.time())
    refusals = [
        (body, None),
        (body, ""),
        (body, "garbage"),
        (body, fake.signed(events[0], secret="whsec_other")[1]["Stripe-Signature"]),
        (body, fake.signed(events[0], timestamp=now - 301)[1]["Stripe-Signature"]),
        (body + b" ", headers["Stripe-Signature"]),
    ]
    for payload, signature in refusals:
        with pytest.raises(InvalidSignature):
            verifier.verify(payload, signature)
    assert verifier.verify(*_signed_at(fake, events[0], now - 290)).id == events[0]["id"]

    not_json = b"not json at all"
    header = _header(fake, not_json.decode())
    with pytest.raises(InvalidEvent):
        verifier.verify(not_json, header)
    with pytest.raises(InvalidEvent):
        verifier.verify(b'{"object": "event"}', _header(fake, '{"object": "event"}'))

    with pytest.raises(WebhooksNotConfigured):
        StripeWebhookVerifier(None).verify(body, headers["Stripe-Signature"])


def _signed_at(fake: FakeStripe, event: dict, timestamp: int) -> tuple[bytes, str]:
    body, headers = fake.signed(event, timestamp=timestamp)
    return body, headers["Stripe-Signature"]


def _header(fake: FakeStripe, payload: str) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload, fake.webhook_secret)


def test_stripe_settings_are_checked_and_never_shown():
    settings = load_settings(
        {
            "SCALIYO_STRIPE_API_KEY": "sk_test_abc123",
            "SCALIYO_STRIPE_WEBHOOK_SECRET": "whsec_xyz789",
            "SCALIYO_STRIPE_API_BASE": "http://127.0.0.1:12111/",
            "SCALIYO_BILLING_RETURN_URL": "https://app.example.com/billing",
        }
    )
    assert settings.stripe_api_key == Secret("sk_test_abc123")
    assert settings.stripe_api_key.reveal() == "sk_test_abc123"
    assert settings.stripe_api_base == "http://127.0.0.1:12111"
    assert settings.billing_page() == "https://app.example.com/billing"
    shown = repr(settings) + str(settings)
    assert "sk_test_abc123" not in shown and "whsec_xyz789" not in shown
    defaults = load_settings({})
    assert defaults.stripe_api_key is None and defaults.stripe_webhook_secret is None
    assert defaults.billing_page() == "http://127.0.0.1:8000/billing"
    assert json.dumps({"key": str(settings.stripe_api_key)}) == '{"key": "Secret(\'********\')"}'


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"SCALIYO_STRIPE_API_KEY": "pk_test_public"}, "SCALIYO_STRIPE_API_KEY"),
        ({"SCALIYO_STRIPE_API_KEY": "sk_test_a b"}, "SCALIYO_STRIPE_API_KEY"),
        ({"SCALIYO_STRIPE_WEBHOOK_SECRET": "secret"}, "SCALIYO_STRIPE_WEBHOOK_SECRET"),
        ({"SCALIYO_STRIPE_API_BASE": "ftp://x"}, "SCALIYO_STRIPE_API_BASE"),
        ({"SCALIYO_BILLING_RETURN_URL": "/billing"}, "SCALIYO_BILLING_RETURN_URL"),
        ({"SCALIYO_STRIPE_MAX_RETRIES": "50"}, "SCALIYO_STRIPE_MAX_RETRIES"),
    ],
)
def test_a_bad_stripe_setting_names_its_variable(env, name):
    with pytest.raises(SettingsError, match=name) as error:
        load_settings(env)
    for value in env.values():
        if value.startswith(("pk_", "sk_")):
            assert value not in str(error.value)
