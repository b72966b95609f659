"""Segments: saved filters with live counts, their leads, and their rules."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.integration.helpers.leads import leads_workspace


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        yield client


async def test_a_segment_counts_and_lists_what_its_filter_selects_now(
    client, database, owner_engine
):
    _, headers, _ = await leads_workspace(database, owner_engine, "Segments")
    for index in range(5):
        await client.post(
            "/api/v1/leads",
            json={"email": f"s{index}@seg.example.com", "tags": ["webinar"] if index < 3 else []},
            headers=headers,
        )
    created = await client.post(
        "/api/v1/segments",
        json={"name": "Webinar people", "filters": {"tag": ["Webinar"]}},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    segment = created.json()
    assert segment["lead_count"] == 3
    assert segment["filters"]["tag"] == ["webinar"]

    await client.post(
        "/api/v1/leads",
        json={"email": "late@seg.example.com", "tags": ["webinar"]},
        headers=headers,
    )
    fetched = (await client.get(f"/api/v1/segments/{segment['id']}", headers=headers)).json()
    assert fetched["lead_count"] == 4

    leads = await client.get(
        f"/api/v1/segments/{segment['id']}/leads", params={"limit": 3}, headers=headers
    )
    assert leads.status_code == 200
    first = leads.json()
    rest = await client.get(
        f"/api/v1/segments/{segment['id']}/leads",
        params={"limit": 3, "cursor": first["next_cursor"]},
        headers=headers,
    )
    ids = [item["id"] for item in first["items"] + rest.json()["items"]]
    assert len(ids) == len(set(ids)) == 4
    narrowed = await client.get(
        "/api/v1/leads", params={"segment": segment["id"], "q": "late"}, headers=headers
    )
    assert [item["email"] for item in narrowed.json()["items"]] == ["late@seg.example.com"]

    clash = await client.post("/api/v1/segments", json={"name": "WEBINAR people"}, headers=headers)
    assert clash.status_code == 409
    assert clash.json()["code"] == "segment_name_taken"
    bad = await client.post(
        "/api/v1/segments",
        json={"name": "Bad", "filters": {"score_min": 120, "tag": ["nobody-has-it"]}},
        headers=headers,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"filters.score_min"}
    unknown = await client.post(
        "/api/v1/segments",
        json={"name": "Bad", "filters": {"tag": ["nobody-has-it"]}},
        headers=headers,
    )
    assert unknown.json()["errors"][0] == {
        "field": "filters.tag",
        "code": "unknown_tag",
        "message": "No lead has this tag.",
    }

    renamed = await client.patch(
        f"/api/v1/segments/{segment['id']}",
        json={"name": "Everyone", "filters": {}},
        headers=headers,
    )
    assert (renamed.json()["name"], renamed.json()["lead_count"]) == ("Everyone", 6)
    listed = (await client.get("/api/v1/segments", headers=headers)).json()
    assert [item["name"] for item in listed["items"]] == ["Everyone"]
    assert (
        await client.delete(f"/api/v1/segments/{segment['id']}", headers=headers)
    ).status_code == 204
    gone = await client.get(f"/api/v1/segments/{segment['id']}/leads", headers=headers)
    assert gone.status_code == 404
