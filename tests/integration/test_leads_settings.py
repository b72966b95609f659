"""Lead settings: the pipeline's stages, the ideal customer profile (and the re-score job it
starts), custom fields, and who may change them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from scaliyo.adapters.queue.lead_jobs import bind_lead_jobs
from scaliyo.adapters.queue.leases import SqlJobLeases
from scaliyo.application.jobs.job_types import job_types
from scaliyo.application.jobs.runner import JobRunner
from scaliyo.domain.shared.ids import JobId
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.factories import insert_account, insert_api_key
from tests.integration.helpers.leads import leads_workspace, message_types


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        yield client


async def stages(client, headers) -> list[dict]:
    response = await client.get("/api/v1/pipeline/stages", headers=headers)
    assert response.status_code == 200
    return response.json()["items"]


async def test_pipeline_edits_keep_the_order_and_never_orphan_a_lead(
    client, database, owner_engine
):
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Pipeline")
    names = [stage["name"] for stage in await stages(client, headers)]
    assert names == ["New", "Contacted", "Qualified", "Proposal", "Won", "Lost"]

    added = await client.post(
        "/api/v1/pipeline/stages",
        json={"name": "Nurture", "color": "#ABC", "position": 1},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    assert (added.json()["position"], added.json()["color"]) == (1, "#aabbcc")
    taken = await client.post(
        "/api/v1/pipeline/stages", json={"name": "won", "color": "#000000"}, headers=headers
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "stage_name_taken")

    nurture = added.json()["id"]
    moved = await client.patch(
        f"/api/v1/pipeline/stages/{nurture}",
        json={"position": 99, "name": "Nurturing"},
        headers=headers,
    )
    assert (moved.json()["position"], moved.json()["name"]) == (6, "Nurturing")
    listed = await stages(client, headers)
    assert [stage["position"] for stage in listed] == list(range(7))

    lead = (
        await client.post(
            "/api/v1/leads",
            json={"email": "in@stage.example.com", "status": nurture},
            headers=headers,
        )
    ).json()
    in_use = await client.delete(f"/api/v1/pipeline/stages/{nurture}", headers=headers)
    assert (in_use.status_code, in_use.json()["code"]) == (409, "stage_in_use")
    new = listed[0]["id"]
    gone = await client.delete(
        f"/api/v1/pipeline/stages/{nurture}", params={"target": new}, headers=headers
    )
    assert gone.status_code == 204
    moved_lead = (await client.get(f"/api/v1/leads/{lead['id']}", headers=headers)).json()
    assert moved_lead["status"] == new
    assert "leads.pipeline_changed" in await message_types(owner_engine, workspace_id)

    missing = await client.patch(
        f"/api/v1/pipeline/stages/{UUID(int=3)}", json={"name": "x"}, headers=headers
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "stage_not_found")

    member = await insert_account(owner_engine, role="member", workspace_id=workspace_id)
    member_headers = (await insert_api_key(owner_engine, workspace_id, member.user_id)).headers()
    refused = await client.post(
        "/api/v1/pipeline/stages",
        json={"name": "Mine", "color": "#000000"},
        headers=member_headers,
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_role")
    assert (await client.get("/api/v1/pipeline/stages", headers=member_headers)).status_code == 200


async def test_a_new_icp_rescores_every_lead_in_a_job(client, database, owner_engine):
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "ICP")
    icp = (await client.get("/api/v1/settings/icp", headers=headers)).json()
    assert icp["defaulted"] is True
    assert "founder" in icp["seniorities"]
    lead = (
        await client.post(
            "/api/v1/leads",
            json={"email": "cto@fit.example.com", "title": "Chief Technology Officer"},
            headers=headers,
        )
    ).json()
    saved = await client.put(
        "/api/v1/settings/icp",
        json={"titles": ["Chief Technology Officer"], "countries": ["Germany"]},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["countries"] == ["DE"]
    assert "defaulted" not in body
    bad = await client.put(
        "/api/v1/settings/icp", json={"countries": ["Atlantis"]}, headers=headers
    )
    assert bad.json()["errors"][0]["field"] == "countries[0]"

    bind_lead_jobs(database)
    runner = JobRunner(SqlJobLeases(database.app, lease_seconds=30), job_types, renew_every=10)
    assert (await runner.run(JobId(UUID(body["rescore_job_id"])), workspace_id)).ack
    rescored = (await client.get(f"/api/v1/leads/{lead['id']}", headers=headers)).json()
    assert rescored["score"] != lead["score"]
    title = next(r for r in rescored["score_reasons"] if r["code"].startswith("fit.title"))
    assert title["points"] > 0
    assert sum(r["points"] for r in rescored["score_reasons"]) == rescored["score"]
    assert (await message_types(owner_engine, UUID(lead["id"])))[-1] == "lead.score_changed"
    job = (await client.get(f"/api/v1/jobs/{body['rescore_job_id']}", headers=headers)).json()
    assert (job["status"], job["progress"]["processed"]) == ("completed", 1)


async def test_custom_field_definitions_are_checked_and_typed(client, database, owner_engine):
    _, headers, _ = await leads_workspace(database, owner_engine, "Custom fields")
    bad = await client.put(
        "/api/v1/settings/custom-fields",
        json={
            "fields": [
                {"key": "Deal Size", "label": "Deal size", "type": "number"},
                {"key": "tier", "label": "Tier", "type": "single_select"},
                {"key": "ok", "label": "Ok", "type": "date"},
                {"key": "ok", "label": "Again", "type": "text"},
            ]
        },
        headers=headers,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {
        "fields[0].key",
        "fields[1].options",
        "fields[3].key",
    }
    good = await client.put(
        "/api/v1/settings/custom-fields",
        json={"fields": [{"key": "renewal", "label": "Renewal", "type": "date"}]},
        headers=headers,
    )
    assert good.json()["fields"] == [{"key": "renewal", "label": "Renewal", "type": "date"}]
    lead = await client.post(
        "/api/v1/leads",
        json={"email": "cf@example.com", "custom_fields": {"renewal": "2027-01-31"}},
        headers=headers,
    )
    assert lead.json()["custom_fields"] == {"renewal": "2027-01-31"}
    patched = await client.patch(
        f"/api/v1/leads/{lead.json()['id']}",
        json={"custom_fields": {"renewal": None}},
        headers=headers,
    )
    assert patched.json()["custom_fields"] == {}
