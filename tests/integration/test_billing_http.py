"""Billing and credits through the API, signed in with a real session cookie."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from dishka.integrations.litestar import FromDishka, inject
from litestar import get
from litestar.testing import AsyncTestClient

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.queue.billing_schedules import end_due_trials
from scaliyo.application.bus import OPERATOR, Context
from scaliyo.application.credits.commands import GrantCredits
from scaliyo.application.credits.ports import CreditAccounts
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.factories import insert_account, insert_signed_in_session
from tests.integration.helpers.billing import MovableClock, billing_bus, fund, new_workspace

PROBLEM = "application/problem+json"


@get("/probe/ai-work")
@inject
async def ai_work(context: FromDishka[Context], accounts: FromDishka[CreditAccounts]) -> dict:
    """Stands for any AI feature: it reserves before calling a provider."""
    assert context.workspace_id is not None
    credits = accounts.for_workspace(context.workspace_id)
    reservation = await credits.reserve("lead_scoring", 500, f"probe-{new_id()}")
    return {"reserved": reservation.credits}


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    app = create_app(SettingsProvider(settings), route_handlers=[ai_work])
    async with AsyncTestClient(app=app) as client:
        yield client


async def signed_in(owner_engine, workspace_id, role: str = "owner") -> dict[str, str]:
    account = await insert_account(owner_engine, workspace_id=workspace_id, role=role)
    session = await insert_signed_in_session(owner_engine, account.user_id, workspace_id)
    return session.headers(csrf=False)


async def test_a_new_workspace_shows_starter_trialing_1000_credits_and_starters_limits(
    client, database, owner_engine
):
    workspace_id = await new_workspace(billing_bus(database), "Fresh Co")
    headers = await signed_in(owner_engine, workspace_id, role="viewer")

    response = await client.get("/api/v1/billing/subscription", headers=headers)
    assert response.status_code == 200, response.text
    sub = response.json()
    assert (sub["plan"]["code"], sub["status"], sub["source"]) == ("starter", "trialing", "trial")
    assert sub["trial_days_left"] == 14 and sub["trial_end"].endswith("Z")
    assert sub["limits"] == {
        "ai_credits": 1_000,
        "contacts": 1_000,
        "emails_per_month": 2_000,
        "emails_per_day": 200,
        "seats": 1,
        "storage_mb": 1_000,
        "linkedin_actions_per_day": 50,
        "linkedin_actions_per_month": 1_000,
    }
    assert sub["access"] == {"ai": True, "sending": True} and "blocked_reason" not in sub
    assert {"api_access", "webhooks", "inbox_monitoring"} <= set(sub["features"])  # every one
    assert sub["plan"]["features"] == ["ai_basic"]

    credits = (await client.get("/api/v1/credits", headers=headers)).json()
    assert (credits["available"], credits["reserved"]) == (1_000, 0)
    assert credits["period"]["granted"] == 1_000 and credits["period"]["spent"] == 0
    assert credits["open_reservations"] == {"count": 0, "credits": 0}
    assert [(i["kind"], i["amount"]) for i in credits["ledger"]["items"]] == [("grant", 1_000)]
    assert credits["ledger"]["next_cursor"] is None

    usage = (await client.get("/api/v1/billing/usage", headers=headers)).json()
    counters = {c["metric"]: c for c in usage["counters"]}
    assert (counters["contacts"]["used"], counters["contacts"]["limit"]) == (0, 1_000)
    assert (counters["seats"]["used"], counters["seats"]["limit"]) == (1, 1)  # the owner
    assert counters["emails_daily"]["window"] == "day" and "resets_at" in counters["emails_daily"]
    assert (counters["ai_credits"]["used"], counters["ai_credits"]["limit"]) == (0, 1_000)
    assert usage["senders"] == []


async def test_plans_are_public(client):
    response = await client.get("/api/v1/billing/plans")
    assert response.status_code == 200
    plans = response.json()["items"]
    assert [(p["code"], p["monthly_price_cents"], p["annual_price_cents"]) for p in plans] == [
        ("starter", 2_900, 29_580),
        ("growth", 7_900, 80_580),
        ("scale", 19_900, 202_980),
    ]
    scale = plans[2]
    assert scale["limits"]["seats"] == 10 and "api_access" in scale["features"]


async def test_billing_routes_need_a_member(client):
    for path in ("/api/v1/billing/subscription", "/api/v1/billing/usage", "/api/v1/credits"):
        response = await client.get(path)
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


async def test_the_trial_end_stops_ai_work_and_the_api_says_why(client, database, owner_engine):
    workspace_id = await new_workspace(billing_bus(database), "Ending Co")
    headers = await signed_in(owner_engine, workspace_id)
    working = await client.get("/probe/ai-work", headers=headers)
    assert working.status_code == 200 and working.json() == {"reserved": 1}

    await end_due_trials(database, MovableClock(datetime.now(UTC) + timedelta(days=14, hours=1)))

    refused = await client.get("/probe/ai-work", headers=headers)
    assert refused.status_code == 402
    assert refused.headers["content-type"].startswith(PROBLEM)
    problem = refused.json()
    assert problem["code"] == "trial_ended" and problem["status"] == 402
    assert "data is kept" in problem["detail"]
    sub = (await client.get("/api/v1/billing/subscription", headers=headers)).json()
    assert (sub["status"], sub["ended_reason"], sub["blocked_reason"]) == (
        "canceled",
        "trial_ended",
        "trial_ended",
    )
    assert sub["access"] == {"ai": False, "sending": False}
    # the data (here: the ledger) is all still there
    credits = (await client.get("/api/v1/credits", headers=headers)).json()
    assert [i["kind"] for i in credits["ledger"]["items"]] == ["expire", "grant"]


async def test_no_credits_is_a_402_before_any_provider_call(client, database, owner_engine):
    workspace_id = await new_workspace(billing_bus(database), "Spent Co")
    await fund(database, workspace_id, 0)
    headers = await signed_in(owner_engine, workspace_id)
    refused = await client.get("/probe/ai-work", headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (402, "insufficient_credits")


async def test_the_ledger_pages_with_a_cursor(client, database, owner_engine):
    bus = billing_bus(database)
    workspace_id = await new_workspace(bus, "Ledger Co")
    operator = Context(request_id="t", actor=OPERATOR, workspace_id=workspace_id)
    for n in range(4):
        await bus.execute(GrantCredits(amount=n + 1, reason=f"gift {n}"), operator)
    headers = await signed_in(owner_engine, workspace_id)
    first = (await client.get("/api/v1/credits?limit=3", headers=headers)).json()
    assert [i["amount"] for i in first["ledger"]["items"]] == [4, 3, 2]
    assert first["purchased"] == 10 and first["available"] == 1_010
    cursor = first["ledger"]["next_cursor"]
    second = (await client.get(f"/api/v1/credits?limit=3&cursor={cursor}", headers=headers)).json()
    assert [(i["kind"], i["amount"]) for i in second["ledger"]["items"]] == [
        ("manual_grant", 1),
        ("grant", 1_000),
    ]
    assert second["ledger"]["next_cursor"] is None
    bad = await client.get("/api/v1/credits?cursor=nope!", headers=headers)
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_failed")
    other = await new_workspace(bus, "Other Co")
    theirs = (
        await client.get("/api/v1/credits", headers=await signed_in(owner_engine, other))
    ).json()
    assert theirs["available"] == 1_000 and theirs["purchased"] == 0
