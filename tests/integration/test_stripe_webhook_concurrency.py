"""Stripe delivers the same event twice at the same moment: one effect.

The API is served on a real port (uvicorn in a thread) so two deliveries really run at once on
two database connections; Litestar's test client would send them one after the other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import text

from tests.fakes.asgi_thread import served
from tests.fakes.stripe_server import FakeStripe, running_fake_stripe
from tests.integration.helpers.payments import (
    WEBHOOK,
    add_prices,
    payments_app,
    plans_priced,
    stripe_settings,
    trialing_owner,
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeStripe]:
    with running_fake_stripe() as fake:
        add_prices(fake)
        yield fake


@pytest.fixture(scope="module")
async def priced(owner_engine) -> AsyncIterator[None]:
    async with plans_priced(owner_engine):
        yield


@pytest.fixture(scope="module")
def api(settings, fake, priced) -> Iterator[str]:
    with served(payments_app(stripe_settings(settings, fake)), lifespan="on") as url:
        yield url


@pytest.fixture
async def http(api) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        yield client


async def scalar(owner_engine, sql: str, **params):
    async with owner_engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


class Deliveries:
    def __init__(self, http: httpx.AsyncClient, fake: FakeStripe, owner_engine) -> None:
        self.http = http
        self.fake = fake
        self.owner_engine = owner_engine

    async def twice_at_once(self, event: dict) -> list[str]:
        body, headers = self.fake.signed(event)
        answers = await asyncio.gather(
            self.http.post(WEBHOOK, content=body, headers=headers),
            self.http.post(WEBHOOK, content=body, headers=headers),
        )
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        outcomes = sorted(a.json()["outcome"] for a in answers)
        recorded = await scalar(
            self.owner_engine,
            "SELECT count(*) FROM payment_events WHERE event_id = :id",
            id=event["id"],
        )
        audited = await scalar(
            self.owner_engine,
            "SELECT count(*) FROM audit_log WHERE details->>'event_id' = :id",
            id=event["id"],
        )
        assert recorded == 1 and audited <= 1, (event["type"], recorded, audited)
        return outcomes

    async def first_of(self, events: list[dict], type: str) -> list[str]:
        return await self.twice_at_once(next(e for e in events if e["type"] == type))


async def checkout(http: httpx.AsyncClient, owner, plan: str = "growth") -> str:
    response = await http.post(
        "/api/v1/billing/checkout",
        json={"plan": plan, "interval": "month"},
        headers=owner.headers(),
    )
    assert response.status_code == 200, response.text
    url = response.json()["url"]
    page = await http.get(url, follow_redirects=False)
    assert page.status_code == 303
    return url.rsplit("/", 1)[1]


async def test_every_handled_event_delivered_twice_at_once_has_one_effect(
    http, fake, database, owner_engine
):
    deliveries = Deliveries(http, fake, owner_engine)
    workspace_id, owner = await trialing_owner(database, owner_engine, "Twice Co")
    mark = len(fake.events)
    session_id = await checkout(http, owner)
    subscription_id = fake.sessions[session_id]["subscription"]
    events = fake.events[mark:]

    # Each handled type is, once, the event that brings the change; each is sent twice.
    assert await deliveries.first_of(events, "customer.subscription.created") == [
        "applied",
        "duplicate",
    ]
    for type in ("invoice.paid", "customer.subscription.updated", "checkout.session.completed"):
        assert await deliveries.first_of(events, type) == ["duplicate", "unchanged"]

    updated = fake.update_subscription(subscription_id, cancel_at_period_end=True)
    assert await deliveries.twice_at_once(updated[0]) == ["applied", "duplicate"]

    fake.advance(1)
    renewal = fake.renew(subscription_id)  # set to cancel: the period's end deletes it
    assert [e["type"] for e in renewal] == ["customer.subscription.deleted"]
    assert await deliveries.twice_at_once(renewal[0]) == ["applied", "duplicate"]

    sub = (await http.get("/api/v1/billing/subscription", headers=owner.headers())).json()
    assert (sub["status"], sub["plan"]["code"]) == ("canceled", "starter")
    activations = await scalar(
        owner_engine,
        "SELECT count(*) FROM outbox WHERE workspace_id = :ws "
        "AND message_type = 'subscription.activated'",
        ws=workspace_id,
    )
    grants = await scalar(
        owner_engine,
        "SELECT count(*) FROM credit_ledger WHERE workspace_id = :ws AND kind IN "
        "('grant', 'top_up')",
        ws=workspace_id,
    )
    assert activations == 1 and grants == 2  # the trial's and Growth's first period's


async def test_payment_failure_and_payment_delivered_twice_at_once_have_one_effect(
    http, fake, database, owner_engine
):
    deliveries = Deliveries(http, fake, owner_engine)
    workspace_id, owner = await trialing_owner(database, owner_engine, "Twice Late Co")
    mark = len(fake.events)
    session_id = await checkout(http, owner)
    subscription_id = fake.sessions[session_id]["subscription"]
    events = fake.events[mark:]
    assert await deliveries.first_of(events, "checkout.session.completed") == [
        "applied",
        "duplicate",
    ]

    fake.advance(1)
    renewal = fake.renew(subscription_id, pay=False)
    assert await deliveries.first_of(renewal, "invoice.payment_failed") == ["applied", "duplicate"]
    sub = (await http.get("/api/v1/billing/subscription", headers=owner.headers())).json()
    assert sub["status"] == "past_due"

    paid = fake.pay_invoice(fake.latest_invoice(subscription_id)["id"])
    assert await deliveries.first_of(paid, "invoice.paid") == ["applied", "duplicate"]
    credits = (await http.get("/api/v1/credits", headers=owner.headers())).json()
    assert credits["available"] == 6_000
    grants = await scalar(
        owner_engine,
        "SELECT count(*) FROM credit_ledger WHERE workspace_id = :ws AND kind = 'grant'",
        ws=workspace_id,
    )
    assert grants == 3  # the trial's, the first period's, the renewed period's


async def test_all_of_a_checkouts_events_at_once_end_as_delivered_one_by_one(
    http, fake, database, owner_engine
):
    workspace_id, owner = await trialing_owner(database, owner_engine, "Rush Co")
    mark = len(fake.events)
    await checkout(http, owner, "scale")
    events = fake.events[mark:]
    signed = [fake.signed(event) for event in events]
    answers = await asyncio.gather(
        *(http.post(WEBHOOK, content=body, headers=headers) for body, headers in signed * 2)
    )
    assert all(a.status_code == 200 for a in answers)
    sub = (await http.get("/api/v1/billing/subscription", headers=owner.headers())).json()
    credits = (await http.get("/api/v1/credits", headers=owner.headers())).json()
    assert (sub["plan"]["code"], sub["status"], credits["available"]) == (
        "scale",
        "active",
        20_000,
    )
    assert (
        await scalar(
            owner_engine,
            "SELECT count(*) FROM payment_events WHERE workspace_id = :ws",
            ws=workspace_id,
        )
        == 4  # the four handled events of five; invoice.finalized is not ours to record
    )
