"""Bulk actions: by ids and by filter at once, by filter as a ``data-processing`` job with
progress, and the contacts that deleting frees and restoring counts again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from scaliyo.adapters.queue import lead_jobs
from scaliyo.adapters.queue.lead_jobs import bind_lead_jobs
from scaliyo.adapters.queue.leases import SqlJobLeases
from scaliyo.application.jobs.job_types import job_types
from scaliyo.application.jobs.runner import JobRunner
from scaliyo.application.leads.commands import BulkLeads, BulkRequest, CreateLead, NewLead
from scaliyo.application.leads.filters import LeadFilterInput
from scaliyo.domain.shared.ids import JobId, WorkspaceId
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.integration.helpers.identity import as_user
from tests.integration.helpers.jobs_processes import eventually
from tests.integration.helpers.leads import (
    count_rows,
    leads_bus,
    leads_workspace,
    message_types,
)


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        yield client


async def contacts_used(engine, workspace_id) -> int:
    return await count_rows(
        engine,
        "SELECT used FROM usage_counters WHERE workspace_id = :ws AND metric = 'contacts'",
        ws=workspace_id,
    )


async def test_bulk_by_ids_and_by_filter_change_at_once(client, database, owner_engine):
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Bulk inline")
    ids = []
    for index in range(6):
        response = await client.post(
            "/api/v1/leads",
            json={"email": f"b{index}@bulk.example.com", "tags": ["even" if index % 2 else "odd"]},
            headers=headers,
        )
        ids.append(response.json()["id"])
    tagged = await client.post(
        "/api/v1/leads/bulk",
        json={"action": "tag", "ids": [*ids[:3], str(UUID(int=7))], "tags": ["Hot"]},
        headers=headers,
    )
    assert tagged.status_code == 200, tagged.text
    assert tagged.json() == {"mode": "inline", "matched": 3, "affected": 3, "skipped": 0}
    assert await message_types(owner_engine, UUID(ids[0])) == ["lead.created", "lead.tag_added"]

    stages = (await client.get("/api/v1/pipeline/stages", headers=headers)).json()["items"]
    lost = next(s["id"] for s in stages if s["name"] == "Lost")
    moved = await client.post(
        "/api/v1/leads/bulk",
        json={"action": "set_status", "filter": {"tag": ["odd"]}, "status": lost},
        headers=headers,
    )
    assert moved.json()["affected"] == 3
    counts = {
        s["name"]: s["lead_count"]
        for s in (await client.get("/api/v1/pipeline/stages", headers=headers)).json()["items"]
    }
    assert (counts["New"], counts["Lost"]) == (3, 3)

    assert await contacts_used(owner_engine, workspace_id) == 6
    deleted = await client.post(
        "/api/v1/leads/bulk",
        json={"action": "delete", "filter": {"status": [lost]}},
        headers=headers,
    )
    assert deleted.json()["affected"] == 3
    assert await contacts_used(owner_engine, workspace_id) == 3
    listed = (await client.get("/api/v1/leads", headers=headers)).json()["items"]
    assert len(listed) == 3
    restored = await client.post(
        "/api/v1/leads/bulk", json={"action": "restore", "filter": {}}, headers=headers
    )
    assert restored.json()["affected"] == 3
    assert await contacts_used(owner_engine, workspace_id) == 6

    unknown = await client.post(
        "/api/v1/leads/bulk",
        json={"action": "set_status", "ids": ids, "status": str(UUID(int=5))},
        headers=headers,
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["code"] == "unknown_status"
    both = await client.post(
        "/api/v1/leads/bulk",
        json={"action": "delete", "ids": ids, "filter": {}},
        headers=headers,
    )
    assert both.status_code == 422


async def test_a_large_selection_runs_as_a_job_with_progress(database, owner_engine):
    workspace_id, _, owner = await leads_workspace(database, owner_engine, "Bulk job")
    bus = leads_bus(database, bulk_inline_max=5)
    context = as_user(owner, workspace_id, "owner")
    for index in range(12):
        await bus.execute(
            CreateLead(lead=NewLead(email=f"j{index}@job.example.com", tags=["cold"])), context
        )
    result = await bus.execute(
        BulkLeads(
            request=BulkRequest(
                action="tag", filter=LeadFilterInput(tag=["cold"]), tags=["Campaign 7"]
            )
        ),
        context,
    )
    assert (result.mode, result.matched) == ("job", 12)
    assert result.job is not None and result.job.type == "leads.bulk"
    # a lead added after the request is not part of the job's selection
    late = await bus.execute(
        CreateLead(lead=NewLead(email="late@job.example.com", tags=["cold"])), context
    )

    bind_lead_jobs(database)
    runner = JobRunner(SqlJobLeases(database.app, lease_seconds=30), job_types, renew_every=10)
    settlement = await runner.run(JobId(UUID(result.job.id)), WorkspaceId(workspace_id))
    assert settlement.ack

    async with owner_engine.connect() as conn:
        job = (
            await conn.execute(
                text("SELECT status, processed, total, result FROM jobs WHERE id = :id"),
                {"id": UUID(result.job.id)},
            )
        ).one()
    assert (job.status, job.processed, job.total) == ("completed", 12, 12)
    assert job.result == {"matched": 12, "affected": 12, "skipped": 0}
    assert (
        await count_rows(
            owner_engine,
            "SELECT count(*) FROM leads WHERE workspace_id = :ws AND 'campaign 7' = ANY(tag_keys)",
            ws=workspace_id,
        )
        == 12
    )
    assert await message_types(owner_engine, UUID(late.id)) == ["lead.created"]
    tag_events = await count_rows(
        owner_engine,
        "SELECT count(*) FROM outbox WHERE workspace_id = :ws AND message_type = 'lead.tag_added'",
        ws=workspace_id,
    )
    assert tag_events == 12


async def test_a_bulk_job_that_changed_many_leads_has_the_lead_tables_vacuumed_and_analyzed(
    database, owner_engine, monkeypatch
):
    """As after an import (the workspace's next lists and searches are planned for what it
    holds now); a bulk job below the threshold leaves them to autovacuum."""
    monkeypatch.setattr(lead_jobs, "VACUUM_AFTER_ROWS", 5)
    workspace_id, _, owner = await leads_workspace(database, owner_engine, "Bulk analyze")
    bus = leads_bus(database, bulk_inline_max=2)
    context = as_user(owner, workspace_id, "owner")
    for index in range(10):
        tag = "few" if index < 4 else "many"
        await bus.execute(
            CreateLead(lead=NewLead(email=f"b{index}@analyze.example", tags=[tag])), context
        )
    analyses = (
        "SELECT sum(analyze_count + vacuum_count) FROM pg_stat_user_tables"
        " WHERE relname IN ('leads', 'lead_search_terms', 'lead_tags')"
    )
    bind_lead_jobs(database)
    runner = JobRunner(SqlJobLeases(database.app, lease_seconds=30), job_types, renew_every=10)
    before = None
    for tag in ("few", "many"):  # 4 leads, then 6
        action = BulkRequest(action="delete", filter=LeadFilterInput(tag=[tag]))
        result = await bus.execute(BulkLeads(request=action), context)
        assert result.job is not None
        if before is None:
            before = await count_rows(owner_engine, analyses)
        settlement = await runner.run(JobId(UUID(result.job.id)), WorkspaceId(workspace_id))
        assert settlement.ack
        if tag == "few":
            assert await count_rows(owner_engine, analyses) == before
    assert before is not None

    async def analyzed() -> int | None:
        after = await count_rows(owner_engine, analyses)
        return after if after == before + 6 else None

    await eventually(analyzed, within=5)
