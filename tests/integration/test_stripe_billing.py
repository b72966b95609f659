"""Paying with Stripe end to end: the API, the real Stripe adapter against the fake Stripe, signed
webhooks, and what they do to the plan, the credits and the limits (PRODUCT.md flow 4)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from dishka.integrations.litestar import FromDishka, inject
from litestar import get
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from scaliyo.adapters.ids import new_id
from scaliyo.application.bus import Context
from scaliyo.application.credits.ports import CreditAccounts
from tests.fakes.stripe_server import FakeStripe, running_fake_stripe
from tests.integration.helpers.payments import (
    WEBHOOK,
    MovableClock,
    add_prices,
    deliver,
    payments_app,
    plans_priced,
    stripe_settings,
    trialing_owner,
)

PROBLEM = "application/problem+json"


@get("/probe/ai-work")
@inject
async def ai_work(context: FromDishka[Context], accounts: FromDishka[CreditAccounts]) -> dict:
    """Stands for any AI feature: it reserves a credit before calling a provider."""
    assert context.workspace_id is not None
    credits = accounts.for_workspace(context.workspace_id)
    reservation = await credits.reserve("lead_scoring", 500, f"probe-{new_id()}")
    await credits.release(reservation)
    return {"reserved": reservation.credits}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeStripe]:
    with running_fake_stripe() as fake:
        add_prices(fake)
        yield fake


@pytest.fixture(scope="module")
async def priced(owner_engine) -> AsyncIterator[None]:
    async with plans_priced(owner_engine):
        yield


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def client(settings, fake, priced, clock) -> AsyncIterator[AsyncTestClient]:
    app = payments_app(
        stripe_settings(settings, fake, stripe_max_retries=1), clock, route_handlers=[ai_work]
    )
    async with AsyncTestClient(app=app) as client:
        yield client


# --- steps -----------------------------------------------------------------------------------


async def start_checkout(client, session, plan="growth", interval="month", **headers) -> dict:
    response = await client.post(
        "/api/v1/billing/checkout",
        json={"plan": plan, "interval": interval},
        headers={**session.headers(), **headers},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def follow(url: str) -> httpx.Response:
    """A browser following a page of Stripe's (the fake's) to the redirect it answers."""
    async with httpx.AsyncClient() as browser:
        return await browser.get(url, follow_redirects=False)


async def pay(fake: FakeStripe, url: str) -> tuple[str, list[dict]]:
    """Follow the checkout page's URL, as the owner's browser would: Stripe takes the payment
    and redirects to our success page. Returns the subscription id and the events sent."""
    mark = len(fake.events)
    page = await follow(url)
    assert page.status_code == 303
    session_id = url.rsplit("/", 1)[1]
    assert page.headers["location"] == (
        f"https://app.scaliyo.test/billing?checkout=success&session_id={session_id}"
    )
    return fake.sessions[session_id]["subscription"], fake.events[mark:]


async def deliver_all(client, fake, events) -> list[str]:
    outcomes = []
    for event in events:
        response = await deliver(client, fake, event)
        assert response.status_code == 200, response.text
        outcomes.append(response.json()["outcome"])
    return outcomes


async def subscribe(client, fake, session, plan="growth", interval="month") -> str:
    answer = await start_checkout(client, session, plan, interval)
    subscription_id, events = await pay(fake, answer["url"])
    await deliver_all(client, fake, events)
    return subscription_id


async def state(client, session) -> dict:
    sub = (await client.get("/api/v1/billing/subscription", headers=session.headers())).json()
    credits = (await client.get("/api/v1/credits", headers=session.headers())).json()
    usage = (await client.get("/api/v1/billing/usage", headers=session.headers())).json()
    return {
        "subscription": sub,
        "credits": credits,
        "counters": {c["metric"]: c for c in usage["counters"]},
        "usage": usage,
    }


def period_of(fake: FakeStripe, subscription_id: str) -> tuple[str, str]:
    item = fake.subscriptions[subscription_id]["items"]["data"][0]
    return tuple(  # type: ignore[return-value]
        datetime.fromtimestamp(item[k], UTC).isoformat().replace("+00:00", "Z")
        for k in ("current_period_start", "current_period_end")
    )


async def count(owner_engine, sql: str, **params) -> int:
    async with owner_engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


# --- flow 4 ----------------------------------------------------------------------------------


async def test_flow_4_a_trialing_workspace_pays_for_growth_and_has_it_at_once(
    client, fake, database, owner_engine
):
    workspace_id, owner = await trialing_owner(database, owner_engine, "Flow Four Co")
    before = await state(client, owner)
    assert (before["subscription"]["plan"]["code"], before["subscription"]["status"]) == (
        "starter",
        "trialing",
    )
    assert before["credits"]["available"] == 1_000

    answer = await start_checkout(client, owner, "growth", "month")
    assert answer["provider"] == "stripe" and answer["kind"] == "checkout"
    assert answer["url"].startswith(f"{fake.base_url}/c/pay/cs_test_")
    assert answer["completed"] is False
    # Nothing changes before Stripe says it was paid.
    assert (await state(client, owner))["subscription"]["status"] == "trialing"

    subscription_id, events = await pay(fake, answer["url"])
    outcomes = await deliver_all(client, fake, events)
    assert outcomes == ["applied", "ignored", "unchanged", "unchanged", "unchanged"]

    after = await state(client, owner)
    sub = after["subscription"]
    assert (sub["plan"]["code"], sub["status"], sub["source"], sub["interval"]) == (
        "growth",
        "active",
        "stripe",
        "month",
    )
    assert (sub["current_period_start"], sub["current_period_end"]) == period_of(
        fake, subscription_id
    )
    assert sub["limits"]["contacts"] == 10_000 and sub["limits"]["seats"] == 3
    assert sub["access"] == {"ai": True, "sending": True}
    assert after["credits"]["available"] == 6_000
    assert after["credits"]["period"]["granted"] == 6_000
    counters = after["counters"]
    assert after["usage"]["plan"] == "growth" and after["usage"]["status"] == "active"
    assert (counters["ai_credits"]["used"], counters["ai_credits"]["limit"]) == (0, 6_000)
    assert counters["contacts"]["limit"] == 10_000
    assert counters["emails_monthly"]["limit"] == 15_000

    invoices = (await client.get("/api/v1/billing/invoices", headers=owner.headers())).json()
    assert [(i["status"], i["amount_paid"], i["provider"]) for i in invoices["items"]] == [
        ("paid", 7_900, "stripe")
    ]
    assert invoices["items"][0]["period_start"] == sub["current_period_start"]
    assert invoices["next_cursor"] is None

    assert (await client.get("/probe/ai-work", headers=owner.headers())).status_code == 200
    account = await count(
        owner_engine,
        "SELECT count(*) FROM payment_accounts WHERE workspace_id = :ws AND subscription_id = :s",
        ws=workspace_id,
        s=subscription_id,
    )
    assert account == 1

    again = await client.post(
        "/api/v1/billing/checkout",
        json={"plan": "growth", "interval": "month"},
        headers=owner.headers(),
    )
    assert again.status_code == 409 and again.json()["code"] == "already_on_plan"


async def test_a_trial_may_buy_starter_and_a_retried_checkout_gets_the_same_page(
    client, fake, database, owner_engine
):
    _, owner = await trialing_owner(database, owner_engine, "Starter Buyer")
    key = {"Idempotency-Key": f"checkout-{new_id()}"}
    first = await start_checkout(client, owner, "starter", "year", **key)
    replay = await client.post(
        "/api/v1/billing/checkout",
        json={"plan": "starter", "interval": "year"},
        headers={**owner.headers(), **key},
    )
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["url"] == first["url"]
    subscription_id, events = await pay(fake, first["url"])
    await deliver_all(client, fake, events)
    sub = (await state(client, owner))["subscription"]
    assert (sub["plan"]["code"], sub["status"], sub["interval"]) == ("starter", "active", "year")
    assert fake.subscriptions[subscription_id]["items"]["data"][0]["price"]["id"] == (
        "price_fake_starter_year"
    )


# --- changes of plan, cancelling, failed payments ---------------------------------------------


async def test_an_upgrade_applies_at_once_and_tops_the_credits_up(
    client, fake, database, owner_engine
):
    _, owner = await trialing_owner(database, owner_engine, "Upgrader")
    subscription_id = await subscribe(client, fake, owner, "growth")
    before = await state(client, owner)

    answer = await start_checkout(client, owner, "scale", "month")
    assert answer["kind"] == "plan_change" and "/p/session/bps_" in answer["url"]
    mark = len(fake.events)
    confirmed = await follow(answer["url"])
    assert confirmed.status_code == 303
    assert await deliver_all(client, fake, fake.events[mark:]) == ["applied"]

    after = await state(client, owner)
    sub = after["subscription"]
    assert (sub["plan"]["code"], sub["status"]) == ("scale", "active")
    assert sub["current_period_start"] == before["subscription"]["current_period_start"]
    assert after["credits"]["available"] == 20_000
    assert after["counters"]["ai_credits"]["limit"] == 20_000
    assert fake.subscriptions[subscription_id]["items"]["data"][0]["price"]["id"] == (
        "price_fake_scale_month"
    )


async def test_a_downgrade_waits_for_the_end_of_the_period(client, fake, database, owner_engine):
    _, owner = await trialing_owner(database, owner_engine, "Downgrader")
    subscription_id = await subscribe(client, fake, owner, "growth")

    events = fake.update_subscription(subscription_id, price="price_fake_starter_month")
    assert await deliver_all(client, fake, events) == ["applied"]
    during = await state(client, owner)
    sub = during["subscription"]
    assert (sub["plan"]["code"], sub["pending_plan"], sub["status"]) == (
        "growth",
        "starter",
        "active",
    )
    assert sub["limits"]["contacts"] == 10_000 and during["credits"]["available"] == 6_000

    fake.advance(1)
    await deliver_all(client, fake, fake.renew(subscription_id))
    after = await state(client, owner)
    sub = after["subscription"]
    assert (sub["plan"]["code"], sub["status"]) == ("starter", "active")
    assert "pending_plan" not in sub
    assert (sub["current_period_start"], sub["current_period_end"]) == period_of(
        fake, subscription_id
    )
    assert sub["limits"]["contacts"] == 1_000
    assert after["credits"]["available"] == 1_000
    assert after["credits"]["period"]["start"] == sub["current_period_start"]


async def test_a_cancellation_waits_for_the_end_of_the_period_then_ends_on_starters_limits(
    client, fake, database, owner_engine
):
    _, owner = await trialing_owner(database, owner_engine, "Leaver")
    subscription_id = await subscribe(client, fake, owner, "growth")

    events = fake.update_subscription(subscription_id, cancel_at_period_end=True)
    assert await deliver_all(client, fake, events) == ["applied"]
    during = (await state(client, owner))["subscription"]
    assert (during["status"], during["cancel_at_period_end"]) == ("active", True)
    assert during["plan"]["code"] == "growth"
    assert (await client.get("/probe/ai-work", headers=owner.headers())).status_code == 200

    events = fake.renew(subscription_id)  # the period ends: Stripe deletes the subscription
    assert [e["type"] for e in events] == ["customer.subscription.deleted"]
    assert await deliver_all(client, fake, events) == ["applied"]
    after = await state(client, owner)
    sub = after["subscription"]
    assert (sub["status"], sub["ended_reason"], sub["plan"]["code"]) == (
        "canceled",
        "canceled",
        "starter",
    )
    assert sub["limits"]["contacts"] == 1_000 and sub["limits"]["seats"] == 1
    assert sub["blocked_reason"] == "subscription_inactive"
    assert after["credits"]["available"] == 0
    refused = await client.get("/probe/ai-work", headers=owner.headers())
    assert refused.status_code == 402 and refused.json()["code"] == "subscription_inactive"


async def test_a_failed_payment_keeps_work_running_for_seven_days_then_stops_it(
    client, fake, clock, database, owner_engine
):
    _, owner = await trialing_owner(database, owner_engine, "Late Payer")
    subscription_id = await subscribe(client, fake, owner, "growth")

    fake.advance(1)
    events = fake.renew(subscription_id, pay=False)
    assert [e["type"] for e in events] == [
        "customer.subscription.updated",
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    await deliver_all(client, fake, events)
    sub = (await state(client, owner))["subscription"]
    assert sub["status"] == "past_due" and sub["access"] == {"ai": True, "sending": True}
    assert "grace_ends_at" in sub
    assert (await client.get("/probe/ai-work", headers=owner.headers())).status_code == 200

    clock.advance(days=6, hours=23)
    assert (await client.get("/probe/ai-work", headers=owner.headers())).status_code == 200
    clock.advance(hours=2)
    refused = await client.get("/probe/ai-work", headers=owner.headers())
    assert refused.status_code == 402 and refused.json()["code"] == "payment_overdue"
    sub = (await state(client, owner))["subscription"]
    assert sub["access"] == {"ai": False, "sending": False}
    assert sub["blocked_reason"] == "payment_overdue"

    invoice = fake.latest_invoice(subscription_id)
    assert await deliver_all(client, fake, fake.pay_invoice(invoice["id"])) == [
        "applied",
        "unchanged",
    ]
    after = await state(client, owner)
    assert after["subscription"]["status"] == "active"
    assert "grace_ends_at" not in after["subscription"]
    assert after["credits"]["period"]["start"] == after["subscription"]["current_period_start"]
    assert after["credits"]["available"] == 6_000
    assert (await client.get("/probe/ai-work", headers=owner.headers())).status_code == 200


async def test_a_deleted_subscription_ends_on_starters_limits_and_a_new_checkout_starts_again(
    client, fake, database, owner_engine
):
    _, owner = await trialing_owner(database, owner_engine, "Deleted Co")
    subscription_id = await subscribe(client, fake, owner, "scale")
    assert await deliver_all(client, fake, fake.cancel(subscription_id)) == ["applied"]
    ended = await state(client, owner)
    sub = ended["subscription"]
    assert (sub["status"], sub["plan"]["code"]) == ("canceled", "starter")
    assert sub["limits"]["storage_mb"] == 1_000 and ended["credits"]["available"] == 0

    answer = await start_checkout(client, owner, "growth", "month")
    assert answer["kind"] == "checkout"
    new_subscription, events = await pay(fake, answer["url"])
    assert new_subscription != subscription_id
    await deliver_all(client, fake, events)
    again = await state(client, owner)
    assert (again["subscription"]["status"], again["subscription"]["plan"]["code"]) == (
        "active",
        "growth",
    )
    assert again["credits"]["available"] == 6_000
    # A late event of the old subscription changes nothing now.
    late = fake.update_subscription(subscription_id, cancel_at_period_end=True)
    assert await deliver_all(client, fake, late) == ["other_subscription"]


async def test_every_order_of_a_subscriptions_events_ends_in_the_same_state(
    client, fake, database, owner_engine
):
    """created, updated (paid: active), invoice.paid, updated (upgraded to Scale), delivered in
    each of their 24 orders to 24 workspaces: one end state."""
    finals = set()
    orders = list(itertools.permutations(range(4)))
    for n, order in enumerate(orders):
        _, owner = await trialing_owner(database, owner_engine, f"Order {n}")
        answer = await start_checkout(client, owner, "growth", "month")
        subscription_id, events = await pay(fake, answer["url"])
        by_type = {}
        for event in events:
            by_type.setdefault(event["type"], []).append(event)
        upgraded = fake.update_subscription(subscription_id, price="price_fake_scale_month")
        sequence = [
            by_type["customer.subscription.created"][0],
            by_type["customer.subscription.updated"][0],
            by_type["invoice.paid"][0],
            upgraded[0],
        ]
        await deliver_all(client, fake, [sequence[i] for i in order])
        end = await state(client, owner)
        sub = end["subscription"]
        start, finish = period_of(fake, subscription_id)
        finals.add(
            (
                sub["plan"]["code"],
                sub["status"],
                sub["interval"],
                sub["current_period_start"] == start and sub["current_period_end"] == finish,
                sub.get("pending_plan"),
                sub["cancel_at_period_end"],
                end["credits"]["available"],
                end["credits"]["period"]["granted"],
            )
        )
    assert finals == {("scale", "active", "month", True, None, False, 20_000, 20_000)}


# --- bad input ---------------------------------------------------------------------------------


async def test_unsigned_wrongly_signed_stale_and_tampered_webhooks_are_refused_and_change_nothing(
    client, fake, database, owner_engine
):
    workspace_id, owner = await trialing_owner(database, owner_engine, "Forged Co")
    answer = await start_checkout(client, owner, "growth", "month")
    _, events = await pay(fake, answer["url"])
    created = events[0]
    body, headers = fake.signed(created)

    unsigned = await client.post(
        WEBHOOK, content=body, headers={"Content-Type": "application/json"}
    )
    wrong = await deliver(client, fake, created, secret="whsec_notoursatall")
    stale = await deliver(client, fake, created, timestamp=int(datetime.now(UTC).timestamp()) - 301)
    tampered = await client.post(
        WEBHOOK, content=body.replace(b'"incomplete"', b'"active"'), headers=headers
    )
    garbage = await client.post(
        WEBHOOK, content=b"nonsense", headers={"Stripe-Signature": "t=1,v1=abc"}
    )
    for response in (unsigned, wrong, stale, tampered, garbage):
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["code"] == "invalid_signature"

    assert (await state(client, owner))["subscription"]["status"] == "trialing"
    assert (
        await count(
            owner_engine,
            "SELECT count(*) FROM payment_events WHERE workspace_id = :ws",
            ws=workspace_id,
        )
        == 0
    )


async def test_a_replayed_event_is_acknowledged_once_applied(client, fake, database, owner_engine):
    workspace_id, owner = await trialing_owner(database, owner_engine, "Replay Co")
    answer = await start_checkout(client, owner, "growth", "month")
    _, events = await pay(fake, answer["url"])
    paid = next(e for e in events if e["type"] == "invoice.paid")
    first = await deliver(client, fake, paid)
    second = await deliver(client, fake, paid)  # Stripe's retry, newly signed
    assert first.json()["outcome"] == "applied" and second.json()["outcome"] == "duplicate"
    assert second.status_code == 200
    assert (await state(client, owner))["credits"]["available"] == 6_000
    grants = await count(
        owner_engine,
        "SELECT count(*) FROM credit_ledger WHERE workspace_id = :ws AND kind = 'grant'",
        ws=workspace_id,
    )
    assert grants == 2  # the trial's and Growth's first period's


async def test_events_for_unknown_customers_and_of_unknown_types_are_acknowledged_no_ops(
    client, fake, database, owner_engine
):
    _, owner = await trialing_owner(database, owner_engine, "Bystander Co")
    answer = await start_checkout(client, owner, "growth", "month")
    _, events = await pay(fake, answer["url"])
    created = events[0]
    stranger = {
        **created,
        "id": f"evt_{new_id().hex}",
        "data": {"object": {**created["data"]["object"], "customer": "cus_nobodyweknow"}},
    }
    response = await deliver(client, fake, stranger)
    assert response.status_code == 200 and response.json()["outcome"] == "unknown_customer"
    odd = {**created, "id": f"evt_{new_id().hex}", "type": "customer.discount.created"}
    response = await deliver(client, fake, odd)
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    assert (await state(client, owner))["subscription"]["status"] == "trialing"


async def test_a_price_that_is_no_plans_changes_nothing_but_an_end_still_ends(
    client, fake, database, owner_engine
):
    _, owner = await trialing_owner(database, owner_engine, "Mystery Price Co")
    subscription_id = await subscribe(client, fake, owner, "growth")
    before = await state(client, owner)
    if "price_fake_mystery" not in fake.prices:
        fake.add_price("price_fake_mystery", unit_amount=100, interval="month", product="prod_x")
    events = fake.update_subscription(subscription_id, price="price_fake_mystery")
    assert await deliver_all(client, fake, events) == ["unknown_price"]
    after = await state(client, owner)
    assert after["subscription"] == before["subscription"]
    assert after["credits"]["available"] == before["credits"]["available"]

    assert await deliver_all(client, fake, fake.cancel(subscription_id)) == ["applied"]
    sub = (await state(client, owner))["subscription"]
    assert (sub["status"], sub["plan"]["code"]) == ("canceled", "starter")


async def test_without_a_webhook_secret_every_webhook_is_refused(
    settings, fake, priced, database, owner_engine
):
    app = payments_app(stripe_settings(settings, fake, stripe_webhook_secret=None))
    async with AsyncTestClient(app=app) as client:
        _, owner = await trialing_owner(database, owner_engine, "Unconfigured Co")
        answer = await start_checkout(client, owner, "growth", "month")
        _, events = await pay(fake, answer["url"])
        for event in events:
            response = await deliver(client, fake, event)
            assert response.status_code == 503
            assert response.json()["code"] == "webhooks_not_configured"
        sub = (await client.get("/api/v1/billing/subscription", headers=owner.headers())).json()
        assert sub["status"] == "trialing"


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
async def test_only_the_owner_pays_opens_the_portal_and_reads_invoices(
    client, fake, database, owner_engine, role
):
    workspace_id, member = await trialing_owner(database, owner_engine, f"Team {role}", role=role)
    customers = len(fake.customers)
    for method, path, body in (
        ("POST", "/api/v1/billing/checkout", {"plan": "growth", "interval": "month"}),
        ("POST", "/api/v1/billing/portal", None),
        ("GET", "/api/v1/billing/invoices", None),
    ):
        response = await client.request(method, path, json=body, headers=member.headers())
        assert response.status_code == 403, (path, response.text)
        assert response.json()["code"] == "insufficient_role"
    assert len(fake.customers) == customers
    assert (
        await count(
            owner_engine,
            "SELECT count(*) FROM payment_accounts WHERE workspace_id = :ws",
            ws=workspace_id,
        )
        == 0
    )


async def test_unknown_plans_and_intervals_are_422_and_change_nothing(
    client, fake, database, owner_engine
):
    workspace_id, owner = await trialing_owner(database, owner_engine, "Typo Co")
    for body, code, field in (
        ({"plan": "platinum", "interval": "month"}, "unknown_plan", "plan"),
        ({"plan": "growth", "interval": "week"}, "validation_failed", "interval"),
        ({"plan": "growth", "interval": "month", "coupon": "free"}, "validation_failed", "coupon"),
        ({"interval": "month"}, "validation_failed", "plan"),
    ):
        response = await client.post("/api/v1/billing/checkout", json=body, headers=owner.headers())
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == code and field in {e["field"] for e in problem["errors"]}
    assert (
        await count(
            owner_engine,
            "SELECT count(*) FROM payment_accounts WHERE workspace_id = :ws",
            ws=workspace_id,
        )
        == 0
    )


async def test_a_plan_without_a_stripe_price_cannot_be_bought(client, fake, database, owner_engine):
    _, owner = await trialing_owner(database, owner_engine, "Early Co")
    async with owner_engine.begin() as conn:
        await conn.execute(text("UPDATE plans SET stripe_price_annual = NULL WHERE code = 'scale'"))
    try:
        response = await client.post(
            "/api/v1/billing/checkout",
            json={"plan": "scale", "interval": "year"},
            headers=owner.headers(),
        )
    finally:
        async with owner_engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE plans SET stripe_price_annual = 'price_fake_scale_year' "
                    "WHERE code = 'scale'"
                )
            )
    assert response.status_code == 409 and response.json()["code"] == "plan_not_purchasable"


async def test_the_portal_opens_for_the_owner(client, fake, database, owner_engine):
    _, owner = await trialing_owner(database, owner_engine, "Portal Co")
    response = await client.post("/api/v1/billing/portal", headers=owner.headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["provider"] == "stripe" and "/p/session/bps_" in body["url"]
    sent = fake.requests_to("POST", "/v1/billing_portal/sessions")[-1]
    assert sent.params["return_url"] == "https://app.scaliyo.test/billing"
    again = await client.post("/api/v1/billing/portal", headers=owner.headers())
    assert again.status_code == 200
    customer = sent.params["customer"]
    assert fake.requests_to("POST", "/v1/billing_portal/sessions")[-1].params["customer"] == (
        customer
    )


async def test_a_stripe_outage_is_a_clear_503_and_nothing_is_half_done(
    client, fake, database, owner_engine
):
    workspace_id, owner = await trialing_owner(database, owner_engine, "Outage Co")
    fake.fail_next(10, status=503)
    try:
        response = await client.post(
            "/api/v1/billing/checkout",
            json={"plan": "growth", "interval": "month"},
            headers=owner.headers(),
        )
    finally:
        fake.clear_failures()
    assert response.status_code == 503 and response.json()["code"] == "payments_unavailable"
    assert (
        await count(
            owner_engine,
            "SELECT count(*) FROM payment_accounts WHERE workspace_id = :ws",
            ws=workspace_id,
        )
        == 0
    )
