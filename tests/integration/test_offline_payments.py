"""Without a Stripe key the offline stand-in pays: checkout completes at once, through the same
code as Stripe's webhooks, and every answer says ``"provider": "offline"``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.integration.helpers.payments import WEBHOOK, trialing_owner


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    assert settings.stripe_api_key is None and settings.stripe_webhook_secret is None
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        yield client


async def buy(client, owner, plan: str, interval: str = "month") -> dict:
    response = await client.post(
        "/api/v1/billing/checkout",
        json={"plan": plan, "interval": interval},
        headers=owner.headers(),
    )
    assert response.status_code == 200, response.text
    return response.json()


async def subscription(client, owner) -> dict:
    return (await client.get("/api/v1/billing/subscription", headers=owner.headers())).json()


async def credits(client, owner) -> int:
    return (await client.get("/api/v1/credits", headers=owner.headers())).json()["available"]


async def test_an_offline_checkout_completes_at_once_and_says_so(client, database, owner_engine):
    _, owner = await trialing_owner(database, owner_engine, "Offline Co")
    answer = await buy(client, owner, "growth")
    assert (answer["provider"], answer["kind"], answer["completed"]) == (
        "offline",
        "checkout",
        True,
    )
    assert "provider=offline" in answer["url"] and "session_id=cs_offline_" in answer["url"]
    sub = await subscription(client, owner)
    assert (sub["plan"]["code"], sub["status"], sub["interval"]) == ("growth", "active", "month")
    assert sub["source"] == "operator"  # our scheduler renews offline subscriptions
    assert await credits(client, owner) == 6_000

    invoices = (await client.get("/api/v1/billing/invoices", headers=owner.headers())).json()
    assert [(i["provider"], i["status"]) for i in invoices["items"]] == [("offline", "paid")]
    assert invoices["items"][0]["number"].startswith("OFFLINE-")

    portal = await client.post("/api/v1/billing/portal", headers=owner.headers())
    assert portal.status_code == 200
    assert portal.json()["provider"] == "offline" and "portal=offline" in portal.json()["url"]

    again = await client.post(
        "/api/v1/billing/checkout",
        json={"plan": "growth", "interval": "month"},
        headers=owner.headers(),
    )
    assert again.status_code == 409 and again.json()["code"] == "already_on_plan"


async def test_offline_changes_of_plan_follow_the_same_rules(client, database, owner_engine):
    _, owner = await trialing_owner(database, owner_engine, "Offline Switcher")
    await buy(client, owner, "growth")

    up = await buy(client, owner, "scale")
    assert (up["kind"], up["completed"], up["provider"]) == ("plan_change", True, "offline")
    sub = await subscription(client, owner)
    assert sub["plan"]["code"] == "scale" and await credits(client, owner) == 20_000

    await buy(client, owner, "starter")
    sub = await subscription(client, owner)
    assert (sub["plan"]["code"], sub["pending_plan"]) == ("scale", "starter")

    yearly = await buy(client, owner, "scale", "year")
    sub = await subscription(client, owner)
    assert (sub["plan"]["code"], sub["interval"], sub.get("pending_plan")) == (
        "scale",
        "year",
        None,
    )
    assert yearly["kind"] == "plan_change"


async def test_without_a_webhook_secret_the_webhook_refuses_everything(client):
    response = await client.post(
        WEBHOOK, content=b'{"id": "evt_1", "object": "event"}', headers={"Stripe-Signature": "x"}
    )
    assert response.status_code == 503 and response.json()["code"] == "webhooks_not_configured"
