"""Tenant isolation of leads (a workspace never sees, counts, exports, tags or changes another's
leads) and the purge of leads deleted 30 days ago."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from scaliyo.adapters.queue.lead_schedules import purge_deleted_leads
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.integration.helpers.billing import MovableClock
from tests.integration.helpers.leads import count_rows, leads_workspace


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        yield client


async def test_a_workspace_sees_only_its_own_leads(client, database, owner_engine):
    _, headers_a, _ = await leads_workspace(database, owner_engine, "Tenant A")
    _, headers_b, _ = await leads_workspace(database, owner_engine, "Tenant B")
    lead_a = (
        await client.post(
            "/api/v1/leads",
            json={"email": "shared@tenant.example.com", "tags": ["secret-a"]},
            headers=headers_a,
        )
    ).json()
    # the same person may be a lead of both workspaces
    lead_b = await client.post(
        "/api/v1/leads", json={"email": "shared@tenant.example.com"}, headers=headers_b
    )
    assert lead_b.status_code == 201
    assert lead_b.json()["id"] != lead_a["id"]

    listed = (await client.get("/api/v1/leads", headers=headers_b)).json()["items"]
    assert [item["id"] for item in listed] == [lead_b.json()["id"]]
    assert (await client.get("/api/v1/tags", headers=headers_b)).json()["items"] == []
    export = await client.get("/api/v1/leads/export", headers=headers_b)
    assert lead_a["id"] not in export.text
    tag_filter = await client.get("/api/v1/leads", params={"tag": "secret-a"}, headers=headers_b)
    assert tag_filter.json()["errors"][0]["code"] == "unknown_tag"
    for method, url in (
        ("GET", f"/api/v1/leads/{lead_a['id']}"),
        ("PATCH", f"/api/v1/leads/{lead_a['id']}"),
        ("DELETE", f"/api/v1/leads/{lead_a['id']}"),
        ("POST", f"/api/v1/leads/{lead_a['id']}/restore"),
    ):
        response = await client.request(
            method, url, json={"title": "x"} if method == "PATCH" else None, headers=headers_b
        )
        assert (response.status_code, response.json()["code"]) == (404, "lead_not_found")
    bulk = await client.post(
        "/api/v1/leads/bulk",
        json={"action": "delete", "ids": [lead_a["id"]]},
        headers=headers_b,
    )
    assert bulk.json()["matched"] == 0
    stage_of_a = lead_a["status"]
    foreign_stage = await client.post(
        "/api/v1/leads",
        json={"email": "x@tenant.example.com", "status": stage_of_a},
        headers=headers_b,
    )
    assert foreign_stage.json()["errors"][0]["code"] == "unknown_status"
    still = (await client.get(f"/api/v1/leads/{lead_a['id']}", headers=headers_a)).json()
    assert still == lead_a


async def test_leads_deleted_30_days_ago_are_purged(client, database, owner_engine):
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Purge")
    ids = []
    for index in range(3):
        response = await client.post(
            "/api/v1/leads", json={"email": f"old{index}@purge.example.com"}, headers=headers
        )
        ids.append(response.json()["id"])
    for lead_id in ids[:2]:
        await client.delete(f"/api/v1/leads/{lead_id}", headers=headers)
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("UPDATE leads SET deleted_at = :at WHERE id = :id"),
            {"at": datetime.now(UTC) - timedelta(days=31), "id": ids[0]},
        )
    clock = MovableClock()
    assert await purge_deleted_leads(database, clock, batch=1) == 1
    remaining = await count_rows(
        owner_engine, "SELECT count(*) FROM leads WHERE workspace_id = :ws", ws=workspace_id
    )
    assert remaining == 2  # the one deleted just now waits its 30 days, the live one stays
    clock.advance(days=30, seconds=5)
    assert await purge_deleted_leads(database, clock, batch=1) >= 1  # other tests' too
    assert await purge_deleted_leads(database, clock) == 0
    remaining = await count_rows(
        owner_engine, "SELECT count(*) FROM leads WHERE workspace_id = :ws", ws=workspace_id
    )
    assert remaining == 1
    survivor = await client.get(f"/api/v1/leads/{ids[2]}", headers=headers)
    assert survivor.status_code == 200


async def test_deleting_a_workspace_deletes_its_tag_and_search_rows(client, database, owner_engine):
    """Tag and search-term rows have no foreign key (checked per row on every import); a
    trigger deletes them with their workspace, and only them."""
    gone, headers_gone, _ = await leads_workspace(database, owner_engine, "Gone")
    kept, headers_kept, _ = await leads_workspace(database, owner_engine, "Kept")
    for headers in (headers_gone, headers_kept):
        created = await client.post(
            "/api/v1/leads",
            json={"email": "ada@lovelace.example.com", "first_name": "Ada", "tags": ["vip"]},
            headers=headers,
        )
        assert created.status_code == 201

    async def rows(workspace) -> tuple[int, int]:
        return (
            await count_rows(
                owner_engine,
                "SELECT count(*) FROM lead_search_terms WHERE workspace_id = :ws",
                ws=workspace,
            ),
            await count_rows(
                owner_engine,
                "SELECT count(*) FROM lead_tags WHERE workspace_id = :ws",
                ws=workspace,
            ),
        )

    before = await rows(kept)
    assert before[0] > 0 and before[1] == 1
    assert await rows(gone) == before
    async with owner_engine.begin() as conn:
        await conn.execute(text("DELETE FROM workspaces WHERE id = :id"), {"id": gone})
        # the caller's tenant setting is what it was after the trigger set its own
        assert (
            await conn.execute(text("SELECT current_setting('app.workspace_id', true)"))
        ).scalar() in (None, "")
    assert await rows(gone) == (0, 0)
    assert await rows(kept) == before
