"""Leads through the API: create, read, change, soft delete and restore, identity, bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.integration.helpers.leads import leads_workspace, message_types


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        yield client


@pytest.fixture
async def workspace(database, owner_engine):
    return await leads_workspace(database, owner_engine)


async def test_create_read_update_delete_restore(client, workspace, owner_engine):
    _, headers, owner = workspace
    created = await client.post(
        "/api/v1/leads",
        json={
            "email": "  Jane.Doe@Acme.COM ",
            "first_name": "Jane",
            "last_name": "Doe",
            "title": "VP Sales",
            "company": "Acme",
            "tags": ["VIP", "vip", "Q3 webinar"],
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    lead = created.json()
    assert lead["email"] == "jane.doe@acme.com"
    assert lead["company_domain"] == "acme.com"
    assert lead["tags"] == ["VIP", "Q3 webinar"]
    assert lead["status_name"] == "New"
    assert lead["source"] == "api"
    assert sum(reason["points"] for reason in lead["score_reasons"]) == lead["score"] > 0

    fetched = await client.get(f"/api/v1/leads/{lead['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json() == lead

    stages = (await client.get("/api/v1/pipeline/stages", headers=headers)).json()["items"]
    won = next(stage for stage in stages if stage["name"] == "Won")
    changed = await client.patch(
        f"/api/v1/leads/{lead['id']}",
        json={"title": None, "status": won["id"], "owner_id": str(owner), "tags": ["Q3 webinar"]},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert "title" not in body
    assert body["status_name"] == "Won"
    assert body["owner_id"] == str(owner)
    assert body["tags"] == ["Q3 webinar"]
    assert body["email"] == "jane.doe@acme.com"
    assert await message_types(owner_engine, lead["id"]) == [
        "lead.created",
        "lead.updated",
        "lead.status_changed",
        "lead.updated",
        "lead.tag_removed",
        "lead.score_changed",  # the title counted for fit and completeness
    ]

    deleted = await client.delete(f"/api/v1/leads/{lead['id']}", headers=headers)
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/leads/{lead['id']}", headers=headers)).status_code == 404
    listed = (await client.get("/api/v1/leads", headers=headers)).json()
    assert listed["items"] == []
    trash = (await client.get("/api/v1/leads", params={"deleted": "true"}, headers=headers)).json()
    assert [item["id"] for item in trash["items"]] == [lead["id"]]

    restored = await client.post(f"/api/v1/leads/{lead['id']}/restore", headers=headers)
    assert restored.status_code == 200
    assert restored.json()["status_name"] == "Won"
    assert "deleted_at" not in restored.json()


async def test_identity_a_live_match_is_a_conflict_and_a_deleted_match_comes_back(
    client, workspace
):
    _, headers, _ = workspace
    first = (
        await client.post(
            "/api/v1/leads",
            json={"email": "sam@globex.com", "first_name": "Sam", "city": "Berlin"},
            headers=headers,
        )
    ).json()
    again = await client.post("/api/v1/leads", json={"email": " SAM@globex.com"}, headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "lead_exists"
    assert first["id"] in again.json()["errors"][0]["message"]

    other = (
        await client.post(
            "/api/v1/leads", json={"linkedin_url": "linkedin.com/in/other-one/"}, headers=headers
        )
    ).json()
    taken = await client.patch(
        f"/api/v1/leads/{other['id']}", json={"email": "sam@globex.com"}, headers=headers
    )
    assert taken.status_code == 409
    assert taken.json()["errors"][0]["field"] == "email"

    assert (await client.delete(f"/api/v1/leads/{first['id']}", headers=headers)).status_code == 204
    back = await client.post(
        "/api/v1/leads",
        json={"email": "sam@globex.com", "title": "CTO", "tags": ["returning"]},
        headers=headers,
    )
    assert back.status_code == 201, back.text
    lead = back.json()
    assert lead["id"] == first["id"]
    assert "deleted_at" not in lead
    assert (lead["first_name"], lead["city"], lead["title"]) == ("Sam", "Berlin", "CTO")
    assert lead["tags"] == ["returning"]


async def test_a_retry_with_the_same_idempotency_key_creates_one_lead(client, workspace):
    _, headers, _ = workspace
    keyed = {**headers, "Idempotency-Key": "lead-once"}
    first = await client.post("/api/v1/leads", json={"email": "once@initech.com"}, headers=keyed)
    second = await client.post("/api/v1/leads", json={"email": "once@initech.com"}, headers=keyed)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]


def fields_of(response) -> set[tuple[str, str]]:
    return {(error["field"], error["code"]) for error in response.json().get("errors", [])}


async def test_bad_input_is_a_4xx_with_field_paths_never_a_500(client, workspace):
    _, headers, _ = workspace
    settings = await client.put(
        "/api/v1/settings/custom-fields",
        json={
            "fields": [
                {"key": "deal_size", "label": "Deal size", "type": "number"},
                {"key": "tier", "label": "Tier", "type": "single_select", "options": ["A", "B"]},
            ]
        },
        headers=headers,
    )
    assert settings.status_code == 200, settings.text
    huge = "x" * 10_000
    cases = [
        ({"email": "not an email"}, {"email": "invalid_email"}),
        ({"email": "a@b.com", "first_name": huge}, {"first_name": "too_long"}),
        ({"email": huge}, {"email": "too_long"}),
        ({"email": "a@b.com", "linkedin_url": huge}, {"linkedin_url": "too_long"}),
        ({"email": "a@b.com", "custom_fields": {"deal_size": "lots"}}, None),
        ({"email": "a@b.com", "custom_fields": {"deal_size": True}}, None),
        ({"email": "a@b.com", "custom_fields": {"tier": "Z"}}, None),
        ({"email": "a@b.com", "custom_fields": {"nope": 1}}, None),
        ({"email": "a@b.com", "status": "00000000-0000-0000-0000-000000000001"}, None),
        ({"email": "a@b.com", "status": "Won"}, None),
        ({"email": "a@b.com", "owner_id": "00000000-0000-0000-0000-000000000001"}, None),
        ({"email": "a@b.com", "tags": ["ok", ""]}, None),
        ({"email": "a@b.com", "tags": [f"t{i}" for i in range(101)]}, {"tags": "too_many_tags"}),
        ({"first_name": "No", "last_name": "Identity"}, None),
        ({"email": "a@b.com", "colour": "red"}, None),
        ({"email": 12}, None),
    ]
    expected_fields = [
        None,
        None,
        None,
        None,
        {"custom_fields.deal_size": "invalid_number"},
        {"custom_fields.deal_size": "invalid_type"},
        {"custom_fields.tier": "invalid_option"},
        {"custom_fields.nope": "unknown_custom_field"},
        {"status": "unknown_status"},
        {"status": "invalid"},
        {"owner_id": "unknown_owner"},
        {"tags[1]": "required"},
        None,
        {"email": "no_identity"},
        {"colour": "unknown_field"},
        {"email": "invalid_type"},
    ]
    for (body, expected), fields in zip(cases, expected_fields, strict=True):
        response = await client.post("/api/v1/leads", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert set((expected or fields).items()) <= fields_of(response), body

    queries = [
        ({"score_min": "lots"}, "score_min"),
        ({"score_min": "90", "score_max": "10"}, "score_max"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_after": "2026-03-01T00:00:00"}, "created_after"),
        ({"status": "Won"}, "status"),
        ({"status": "00000000-0000-0000-0000-000000000001"}, "status"),
        ({"tag": "never-used"}, "tag"),
        ({"owner": "someone"}, "owner"),
        ({"source": "fax"}, "source"),
        ({"segment": "nope"}, "segment"),
        ({"q": "x" * 10_000}, "q"),
        ({"sort": "colour"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "garbage!!"}, "cursor"),
    ]
    for params, field in queries:
        response = await client.get("/api/v1/leads", params=params, headers=headers)
        assert response.status_code in {400, 422}, (params, response.text)
        assert field in {name for name, _ in fields_of(response)}, (params, response.json())
        export = await client.get("/api/v1/leads/export", params=params, headers=headers)
        if field not in {"sort", "limit", "cursor"}:
            assert export.status_code == 422, (params, export.text)


async def test_a_cursor_from_another_query_is_refused(client, workspace):
    _, headers, _ = workspace
    for index in range(3):
        await client.post(
            "/api/v1/leads", json={"email": f"c{index}@cursor.example.com"}, headers=headers
        )
    page = (await client.get("/api/v1/leads", params={"limit": 1}, headers=headers)).json()
    cursor = page["next_cursor"]
    assert cursor
    for other in ({"sort": "score"}, {"order": "asc"}, {"q": "cursor"}, {"source": "api"}):
        response = await client.get(
            "/api/v1/leads", params={"limit": 1, "cursor": cursor, **other}, headers=headers
        )
        assert response.status_code == 422, other
        assert response.json()["code"] == "invalid_cursor"
    same = await client.get("/api/v1/leads", params={"limit": 1, "cursor": cursor}, headers=headers)
    assert same.status_code == 200
