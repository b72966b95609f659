"""The real Stripe adapter (official SDK, async HTTPX client) against the local fake Stripe: the
SDK's own request encoding, Stripe's list and error envelopes, idempotency keys, retries."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from uuid import uuid4

import pytest

from scaliyo.adapters.payments.stripe_payments import StripePayments
from scaliyo.application.billing.payments import (
    CheckoutRequest,
    PaymentsRefused,
    PaymentsUnavailable,
    PlanSwitch,
)
from scaliyo.domain.billing.plans import Interval
from scaliyo.domain.billing.subscriptions import EndReason, SubscriptionStatus
from scaliyo.domain.shared.ids import WorkspaceId
from tests.fakes.stripe_server import API_VERSION, FakeStripe, running_fake_stripe
from tests.integration.helpers.payments import add_prices, price_id


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeStripe]:
    with running_fake_stripe() as fake:
        add_prices(fake)
        yield fake


@pytest.fixture
async def stripe(fake) -> AsyncIterator[StripePayments]:
    adapter = StripePayments(fake.api_key, api_base=fake.base_url, timeout_seconds=5)
    yield adapter
    await adapter.close()


def checkout(customer_id: str, workspace_id: WorkspaceId, key: str, plan: str = "growth"):
    return CheckoutRequest(
        workspace_id=workspace_id,
        customer_id=customer_id,
        plan_code=plan,
        interval=Interval.MONTH,
        price_id=price_id(plan, "month"),
        success_url="https://app.test/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}",
        cancel_url="https://app.test/billing?checkout=canceled",
        idempotency_key=key,
    )


async def test_requests_carry_the_sdks_form_encoding_version_key_and_idempotency_key(fake, stripe):
    workspace_id = WorkspaceId(uuid4())
    customer_id = await stripe.create_customer(
        workspace_id=workspace_id, name="Acme", idempotency_key=f"customer-{workspace_id}"
    )
    created = fake.requests_to("POST", "/v1/customers")[-1]
    assert created.headers["authorization"] == f"Bearer {fake.api_key}"
    assert created.headers["stripe-version"] == API_VERSION == "2026-10-28.endive"
    assert created.headers["idempotency-key"] == f"customer-{workspace_id}"
    assert created.headers["content-type"] == "application/x-www-form-urlencoded"
    assert f"metadata[workspace_id]={workspace_id}" in created.raw_body
    assert fake.customers[customer_id]["metadata"] == {"workspace_id": str(workspace_id)}

    page = await stripe.create_checkout(checkout(customer_id, workspace_id, "checkout-1"))
    assert page.id.startswith("cs_test_") and page.url == f"{fake.base_url}/c/pay/{page.id}"
    sent = fake.requests_to("POST", "/v1/checkout/sessions")[-1]
    for pair in (
        "mode=subscription",
        f"customer={customer_id}",
        f"client_reference_id={workspace_id}",
        f"line_items[0][price]={price_id('growth', 'month')}",
        "line_items[0][quantity]=1",
        f"metadata[workspace_id]={workspace_id}",
        "subscription_data[metadata][plan]=growth",
        "subscription_data[metadata][interval]=month",
    ):
        assert pair in sent.raw_body.split("&"), pair
    assert sent.params["line_items"] == [{"price": price_id("growth", "month"), "quantity": "1"}]


async def test_the_same_idempotency_key_replays_and_other_parameters_are_refused(fake, stripe):
    workspace_id = WorkspaceId(uuid4())
    customer_id = await stripe.create_customer(
        workspace_id=workspace_id, name=None, idempotency_key=f"c-{workspace_id}"
    )
    first = await stripe.create_checkout(checkout(customer_id, workspace_id, f"k-{workspace_id}"))
    again = await stripe.create_checkout(checkout(customer_id, workspace_id, f"k-{workspace_id}"))
    assert again.id == first.id
    assert len([s for s in fake.sessions.values() if s["customer"] == customer_id]) == 1

    with pytest.raises(PaymentsRefused):
        await stripe.create_checkout(
            checkout(customer_id, workspace_id, f"k-{workspace_id}", plan="scale")
        )


async def test_a_subscription_is_read_with_its_period_from_its_item(fake, stripe):
    workspace_id = WorkspaceId(uuid4())
    customer_id = await stripe.create_customer(
        workspace_id=workspace_id, name=None, idempotency_key=f"c-{workspace_id}"
    )
    page = await stripe.create_checkout(checkout(customer_id, workspace_id, f"k-{workspace_id}"))
    events = fake.complete_checkout(page.id)
    assert [e["type"] for e in events] == [
        "customer.subscription.created",
        "invoice.finalized",
        "invoice.paid",
        "customer.subscription.updated",
        "checkout.session.completed",
    ]
    subscription_id = fake.sessions[page.id]["subscription"]
    item = fake.subscriptions[subscription_id]["items"]["data"][0]

    read = await stripe.get_subscription(subscription_id)
    assert read is not None
    assert (read.id, read.customer_id, read.status) == (
        subscription_id,
        customer_id,
        SubscriptionStatus.ACTIVE,
    )
    assert (read.price_id, read.interval) == (price_id("growth", "month"), Interval.MONTH)
    assert int(read.current_period_start.timestamp()) == item["current_period_start"]
    assert int(read.current_period_end.timestamp()) == item["current_period_end"]
    assert read.workspace_id == str(workspace_id) and not read.cancel_at_period_end

    fake.cancel(subscription_id)
    ended = await stripe.get_subscription(subscription_id)
    assert ended is not None and ended.status is SubscriptionStatus.CANCELED
    assert ended.end_reason is EndReason.CANCELED and ended.ended_at is not None

    assert await stripe.get_subscription("sub_nosuchthing") is None


async def test_invoices_are_listed_newest_first_with_their_subscription_and_period(fake, stripe):
    workspace_id = WorkspaceId(uuid4())
    customer_id = await stripe.create_customer(
        workspace_id=workspace_id, name=None, idempotency_key=f"c-{workspace_id}"
    )
    page = await stripe.create_checkout(checkout(customer_id, workspace_id, f"k-{workspace_id}"))
    fake.complete_checkout(page.id)
    subscription_id = fake.sessions[page.id]["subscription"]
    fake.advance(1)
    fake.renew(subscription_id)
    fake.advance(1)
    fake.renew(subscription_id)

    first = await stripe.list_invoices(customer_id=customer_id, limit=2, starting_after=None)
    assert len(first.items) == 2 and first.has_more
    rest = await stripe.list_invoices(
        customer_id=customer_id, limit=2, starting_after=first.items[-1].id
    )
    assert len(rest.items) == 1 and not rest.has_more
    invoices = [*first.items, *rest.items]
    assert [i.created for i in invoices] == sorted((i.created for i in invoices), reverse=True)
    assert {i.subscription_id for i in invoices} == {subscription_id}
    assert all(i.status == "paid" and i.amount_paid == 7_900 for i in invoices)
    starts = [i.billed_period_start for i in invoices]
    assert starts == sorted(starts, reverse=True) and len(set(starts)) == 3
    sent = fake.requests_to("GET", "/v1/invoices")[-1]
    assert sent.params == {
        "customer": customer_id,
        "limit": "2",
        "starting_after": first.items[-1].id,
    }


async def test_a_plan_change_opens_the_portals_confirmation_for_the_subscriptions_item(
    fake, stripe
):
    workspace_id = WorkspaceId(uuid4())
    customer_id = await stripe.create_customer(
        workspace_id=workspace_id, name=None, idempotency_key=f"c-{workspace_id}"
    )
    page = await stripe.create_checkout(checkout(customer_id, workspace_id, f"k-{workspace_id}"))
    fake.complete_checkout(page.id)
    subscription_id = fake.sessions[page.id]["subscription"]
    item_id = fake.subscriptions[subscription_id]["items"]["data"][0]["id"]

    portal = await stripe.create_portal(
        customer_id=customer_id,
        return_url="https://app.test/billing",
        idempotency_key=f"p-{workspace_id}",
        switch=PlanSwitch(
            subscription_id=subscription_id,
            plan_code="scale",
            interval=Interval.MONTH,
            price_id=price_id("scale", "month"),
        ),
    )
    assert portal.url.startswith(f"{fake.base_url}/p/session/bps_")
    flow = fake.requests_to("POST", "/v1/billing_portal/sessions")[-1].params["flow_data"]
    assert flow["type"] == "subscription_update_confirm"
    assert flow["subscription_update_confirm"] == {
        "subscription": subscription_id,
        "items": [{"id": item_id, "price": price_id("scale", "month"), "quantity": "1"}],
    }


async def test_a_transient_failure_is_retried_with_the_same_idempotency_key(fake, stripe):
    before = len(fake.requests_to("POST", "/v1/customers"))
    fake.fail_next(1, status=500)
    workspace_id = WorkspaceId(uuid4())
    customer_id = await stripe.create_customer(
        workspace_id=workspace_id, name=None, idempotency_key=f"retry-{workspace_id}"
    )
    attempts = fake.requests_to("POST", "/v1/customers")[before:]
    assert len(attempts) == 2
    assert {a.headers["idempotency-key"] for a in attempts} == {f"retry-{workspace_id}"}
    assert customer_id in fake.customers


async def test_an_outage_is_payments_unavailable_after_the_retries(fake, stripe):
    before = len(fake.requests_to("GET", "/v1/subscriptions/sub_whatever"))
    fake.fail_next(3, status=503)
    with pytest.raises(PaymentsUnavailable):
        await stripe.get_subscription("sub_whatever")
    assert len(fake.requests_to("GET", "/v1/subscriptions/sub_whatever")) - before == 3


async def test_refusals_are_payments_refused_and_never_show_the_key(fake, caplog):
    wrong = "sk_test_" + "w" * 24
    refused = StripePayments(wrong, api_base=fake.base_url, timeout_seconds=5)
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(PaymentsRefused) as error:
            await refused.create_customer(
                workspace_id=WorkspaceId(uuid4()), name=None, idempotency_key="k"
            )
    finally:
        await refused.close()
    assert wrong not in str(error.value) and wrong not in caplog.text
    assert "SCALIYO_STRIPE_API_KEY" in error.value.detail


async def test_an_unknown_price_is_refused(fake, stripe):
    workspace_id = WorkspaceId(uuid4())
    customer_id = await stripe.create_customer(
        workspace_id=workspace_id, name=None, idempotency_key=f"c-{workspace_id}"
    )
    request = checkout(customer_id, workspace_id, f"k-{workspace_id}")
    with pytest.raises(PaymentsRefused, match="resource_missing"):
        await stripe.create_checkout(
            CheckoutRequest(
                **{
                    **{f: getattr(request, f) for f in request.__struct_fields__},
                    "price_id": "price_nosuchthing",
                }
            )
        )
