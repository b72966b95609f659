"""The jobs and workspace endpoints through the app, on real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.adapters.settings import Environment
from scaliyo.domain.jobs.job import Job, Queue
from scaliyo.domain.shared.ids import JobId, WorkspaceId
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.factories import insert_workspace, owner_api_key, signed_in_owner

PROBLEM = "application/problem+json"
# The credentials of each workspace a test made: an owner's API key.
CREDENTIALS: dict[UUID, dict[str, str]] = {}


async def keyed_workspace(owner_engine, name: str) -> UUID:
    workspace_id = await insert_workspace(owner_engine, name)
    CREDENTIALS[workspace_id] = (await owner_api_key(owner_engine, workspace_id)).headers()
    return workspace_id


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        yield client


async def add_job(database, workspace_id: UUID, *, queue: Queue, type: str) -> UUID:
    job = Job.queue_new(
        id=JobId(new_id()),
        workspace_id=WorkspaceId(workspace_id),
        queue=queue,
        type=type,
        params={"n": 1},
        now=datetime.now(UTC),
    )
    async with SqlUnitOfWork(database.app, WorkspaceId(workspace_id)) as uow:
        await uow.jobs.add(job)
        await uow.commit()
    return job.id


@pytest.fixture
async def workspace_with_jobs(database, owner_engine) -> tuple[UUID, list[UUID]]:
    """A workspace with 5 jobs: 3 ai-generation email_sequence, 2 data-processing bulk_import."""
    workspace_id = await keyed_workspace(owner_engine, "Jobs Co")
    ids = []
    for n in range(5):
        ai = n % 2 == 0
        ids.append(
            await add_job(
                database,
                workspace_id,
                queue=Queue.AI_GENERATION if ai else Queue.DATA_PROCESSING,
                type="email_sequence" if ai else "bulk_import",
            )
        )
    return workspace_id, ids


def ws(workspace_id: UUID) -> dict[str, str]:
    return CREDENTIALS[workspace_id]


async def test_get_job_returns_the_job_of_the_workspace(client, workspace_with_jobs):
    workspace_id, ids = workspace_with_jobs
    response = await client.get(f"/api/v1/jobs/{ids[0]}", headers=ws(workspace_id))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(ids[0])
    assert body["status"] == "queued"
    assert body["queue"] == "ai-generation"
    assert body["type"] == "email_sequence"
    assert body["progress"]["processed"] == 0
    assert body["created_at"].endswith("Z")
    assert "params" not in body


async def test_list_paginates_newest_first_across_three_pages(client, workspace_with_jobs):
    workspace_id, ids = workspace_with_jobs
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/api/v1/jobs", params=params, headers=ws(workspace_id))
        assert response.status_code == 200
        body = response.json()
        pages += 1
        seen.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [str(i) for i in reversed(ids)]


async def test_list_filters_by_queue_type_and_status(client, workspace_with_jobs):
    workspace_id, ids = workspace_with_jobs

    async def listed(**params) -> list[str]:
        response = await client.get("/api/v1/jobs", params=params, headers=ws(workspace_id))
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await listed(queue="data-processing") == [str(ids[3]), str(ids[1])]
    assert await listed(type="email_sequence") == [str(ids[4]), str(ids[2]), str(ids[0])]
    assert len(await listed(status="queued")) == 5
    assert await listed(status="completed") == []
    assert await listed(queue="ai-generation", type="bulk_import") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "exploded"}, "status"),
        ({"queue": "nope"}, "queue"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "!!not-a-cursor!!"}, "cursor"),
    ],
)
async def test_bad_list_parameters_are_422_naming_the_field(
    client, workspace_with_jobs, params, field
):
    workspace_id, _ = workspace_with_jobs
    response = await client.get("/api/v1/jobs", params=params, headers=ws(workspace_id))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == "validation_failed"
    assert field in [error["field"] for error in body["errors"]]


async def test_another_workspace_job_and_a_non_uuid_id_are_404(
    client, workspace_with_jobs, owner_engine
):
    _, ids = workspace_with_jobs
    other = await keyed_workspace(owner_engine, "Other Co")
    for path in (f"/api/v1/jobs/{ids[0]}", "/api/v1/jobs/not-a-uuid", f"/api/v1/jobs/{new_id()}"):
        response = await client.get(path, headers=ws(other))
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["code"] == "job_not_found"
    listed = await client.get("/api/v1/jobs", headers=ws(other))
    assert listed.json() == {"items": [], "next_cursor": None}


async def test_workspace_endpoint_and_credential_rules(client, owner_engine):
    workspace_id = await keyed_workspace(owner_engine, "Header Co")
    response = await client.get("/api/v1/workspace", headers=ws(workspace_id))
    assert response.status_code == 200
    assert response.json()["name"] == "Header Co"
    assert response.json()["id"] == str(workspace_id)

    missing = await client.get("/api/v1/workspace")
    assert missing.status_code == 401
    assert missing.json()["code"] == "unauthenticated"

    # The spine's dev header is gone: naming a workspace proves nothing.
    header_only = await client.get("/api/v1/jobs", headers={"X-Workspace-Id": str(workspace_id)})
    assert header_only.status_code == 401

    _, session = await signed_in_owner(owner_engine, "Session Co")
    for header in (str(workspace_id), str(new_id()), "acme"):
        refused = await client.get(
            "/api/v1/workspace", headers={**session.headers(), "X-Workspace-Id": header}
        )
        assert refused.status_code == 404, header
        assert refused.json()["code"] == "workspace_not_found"


async def test_production_authenticates_like_every_environment(settings, workspace_with_jobs):
    workspace_id, ids = workspace_with_jobs
    production = msgspec.structs.replace(settings, env=Environment.PRODUCTION)
    async with AsyncTestClient(app=create_app(SettingsProvider(production))) as client:
        for path in ("/api/v1/jobs", f"/api/v1/jobs/{ids[0]}", "/api/v1/workspace"):
            response = await client.get(path, headers={"X-Workspace-Id": str(workspace_id)})
            assert response.status_code == 401, path
            assert response.headers["content-type"].startswith(PROBLEM)
            assert response.json()["code"] == "unauthenticated"
            assert (await client.get(path, headers=ws(workspace_id))).status_code == 200, path
        assert (await client.get("/healthz")).status_code == 200
