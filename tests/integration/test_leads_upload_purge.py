"""The purge of uploaded import files (``lead-uploads-purge``) on PostgreSQL and the NATS object
store: past the retention an upload never imported goes entirely, one with imports keeps its
row, imports and report but loses its file (and importing it again is 410 ``upload_expired``);
young uploads and uploads an import is waiting on or running from are left alone; a second run
changes nothing; one workspace's failure does not stop the others; an import asked for while a
file is being deleted is refused, never queued to fail."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient
from nats.aio.client import Client
from nats.js.errors import NotFoundError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.blobs.nats_object_store import DEFAULT_BUCKET, NatsObjectStore
from scaliyo.adapters.queue.lead_schedules import UploadPurge, purge_expired_uploads
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.integration.helpers.billing import MovableClock
from tests.integration.helpers.imports import APOLLO, csv_bytes, error_lines, run_import_job
from tests.integration.helpers.leads import count_rows, leads_workspace

RETENTION = timedelta(hours=168)
BODY = csv_bytes(
    [
        APOLLO,
        ["Ada", "Lovelace", "CTO", "Analytical", "ada@analytical.example", "", "", "", ""],
        ["Bad", "Email", "", "", "not-an-email", "", "", "", ""],
    ]
)


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        yield client


@pytest.fixture
def blobs(nc: Client) -> NatsObjectStore:
    return NatsObjectStore(nc.jetstream())  # the bucket the API uploads into


async def upload(client, headers) -> str:
    response = await client.post(
        "/api/v1/leads/uploads", files={"file": ("leads.csv", BODY, "text/csv")}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()["upload_id"]


async def start_import(client, headers, upload_id: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/leads/imports", json={"upload_id": upload_id}, headers=headers
    )
    assert response.status_code == 202, response.text
    return response.json()


async def age(owner_engine: AsyncEngine, upload_id: str, by: timedelta) -> None:
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("UPDATE lead_uploads SET created_at = :at WHERE id = :id"),
            {"at": datetime.now(UTC) - by, "id": UUID(upload_id)},
        )


async def set_import_status(owner_engine: AsyncEngine, import_id: str, status: str) -> None:
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("UPDATE lead_imports SET status = :status WHERE id = :id"),
            {"status": status, "id": UUID(import_id)},
        )


async def uploads_of(owner_engine: AsyncEngine, workspace_id: Any) -> dict[str, tuple]:
    """Every upload of a workspace: its blob key and ``purged_at``."""
    async with owner_engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id, blob_key, purged_at FROM lead_uploads WHERE workspace_id = :ws"),
            {"ws": workspace_id},
        )
        return {str(row.id): (row.blob_key, row.purged_at) for row in rows}


async def imports_of(owner_engine: AsyncEngine, workspace_id: Any) -> dict[str, tuple]:
    async with owner_engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id, upload_id, status FROM lead_imports WHERE workspace_id = :ws"),
            {"ws": workspace_id},
        )
        return {str(row.id): (str(row.upload_id), row.status) for row in rows}


async def purge(database, blobs, clock=None) -> UploadPurge:
    return await purge_expired_uploads(
        database, blobs, clock or MovableClock(), retention=RETENTION, batch=2
    )


async def test_expired_uploads_lose_their_file_and_unused_ones_go_entirely(
    client, database, owner_engine, nc, blobs
):
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Upload purge")
    unused = await upload(client, headers)
    unused_gone_already = await upload(client, headers)
    imported = await upload(client, headers)
    young = await upload(client, headers)
    running = await upload(client, headers)
    waiting = await upload(client, headers)

    done = await start_import(client, headers, imported)
    assert (await run_import_job(database, nc, workspace_id, done["job_id"])).ack
    in_progress = await start_import(client, headers, running)
    await set_import_status(owner_engine, in_progress["import_id"], "running")
    queued = await start_import(client, headers, waiting)
    for upload_id in (unused, unused_gone_already, imported, running, waiting):
        await age(owner_engine, upload_id, RETENTION + timedelta(minutes=1))
    await age(owner_engine, young, RETENTION - timedelta(minutes=5))

    before = await uploads_of(owner_engine, workspace_id)
    imports_before = await imports_of(owner_engine, workspace_id)
    assert await stored_bytes(owner_engine, workspace_id) == 6 * len(BODY)
    for blob_key, purged_at in before.values():
        assert purged_at is None
        assert await blobs.exists(workspace_id, blob_key)
    assert await blobs.delete(workspace_id, before[unused_gone_already][0])  # a run stopped here

    # batches of 2: three uploads due in this workspace take two batches
    assert await purge(database, blobs) == UploadPurge(deleted=2, purged=1)

    after = await uploads_of(owner_engine, workspace_id)
    assert set(after) == {imported, young, running, waiting}
    # the three files deleted no longer count against the plan's storage
    assert await stored_bytes(owner_engine, workspace_id) == 3 * len(BODY)
    for upload_id in (unused, unused_gone_already, imported):
        assert not await blobs.exists(workspace_id, before[upload_id][0])
    assert after[imported][1] is not None
    for upload_id in (young, running, waiting):
        assert after[upload_id] == before[upload_id]
        assert await blobs.exists(workspace_id, before[upload_id][0])
    # the imports (and the finished one's report) are all still there
    assert await imports_of(owner_engine, workspace_id) == imports_before
    assert imports_before[done["import_id"]] == (imported, "completed")
    assert imports_before[queued["import_id"]] == (waiting, "queued")
    view = await client.get(f"/api/v1/leads/imports/{done['import_id']}", headers=headers)
    assert view.status_code == 200
    assert view.json()["counts"]["created"] == 1
    report = await client.get(f"/api/v1/leads/imports/{done['import_id']}/errors", headers=headers)
    assert [line["code"] for line in error_lines(report.text)] == ["invalid_email", "no_identity"]

    # importing the purged upload again is 410; the deleted one is simply not found
    again = await client.post(
        "/api/v1/leads/imports", json={"upload_id": imported}, headers=headers
    )
    assert again.status_code == 410, again.text
    assert again.json()["code"] == "upload_expired"
    assert again.headers["content-type"].startswith("application/problem+json")
    missing = await client.post(
        "/api/v1/leads/imports", json={"upload_id": unused}, headers=headers
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "upload_not_found")
    assert await imports_of(owner_engine, workspace_id) == imports_before

    # a second run changes nothing
    assert await purge(database, blobs) == UploadPurge()
    assert await uploads_of(owner_engine, workspace_id) == after
    assert await stored_bytes(owner_engine, workspace_id) == 3 * len(BODY)
    for upload_id in (young, running, waiting):
        assert await blobs.exists(workspace_id, before[upload_id][0])

    # once the running import has ended, its upload's file goes too (the row stays)
    await set_import_status(owner_engine, in_progress["import_id"], "failed")
    assert await purge(database, blobs) == UploadPurge(purged=1)
    finally_ = await uploads_of(owner_engine, workspace_id)
    assert finally_[running][1] is not None
    assert not await blobs.exists(workspace_id, before[running][0])
    assert finally_[young] == before[young]
    assert finally_[waiting] == before[waiting]
    assert await stored_bytes(owner_engine, workspace_id) == 2 * len(BODY)


async def stored_bytes(engine: AsyncEngine, workspace_id: Any) -> int:
    """The workspace's ``storage_bytes`` counter."""
    return await count_rows(
        engine,
        "SELECT used FROM usage_counters WHERE workspace_id = :ws AND metric = 'storage_bytes'",
        ws=workspace_id,
    )


STARTER_STORAGE = 1_000 * 1_000_000  # the trial's storage: Starter's 1,000 MB


async def set_stored_bytes(engine: AsyncEngine, workspace_id: Any, used: int) -> None:
    """Start the workspace's ``storage_bytes`` counter at ``used``."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO usage_counters (workspace_id, metric, subject, period, used) "
                "VALUES (:ws, 'storage_bytes', '', 'total', :used) "
                "ON CONFLICT (workspace_id, metric, subject, period) DO UPDATE SET used = :used"
            ),
            {"ws": workspace_id, "used": used},
        )


async def test_an_upload_that_does_not_fit_the_plans_storage_is_refused_and_not_kept(
    client, database, owner_engine, blobs
):
    """Uploads count against the plan's storage (Starter's 1,000 MB in the trial): one that
    does not fit is 409 ``storage_limit_reached``, registers nothing and leaves no file; of
    uploads racing for the last room, only those that fit are kept."""
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Storage full")
    limit = STARTER_STORAGE
    await set_stored_bytes(owner_engine, workspace_id, limit - 2 * len(BODY) - 1)
    first = await upload(client, headers)
    refused = await client.post(
        "/api/v1/leads/uploads",
        files={"file": ("leads.csv", BODY + BODY, "text/csv")},  # one byte too many
        headers=headers,
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "storage_limit_reached"
    assert "1,000 MB" in refused.json()["detail"]
    assert set(await uploads_of(owner_engine, workspace_id)) == {first}
    assert await stored_bytes(owner_engine, workspace_id) == limit - len(BODY) - 1

    racing = await asyncio.gather(
        *(
            client.post(
                "/api/v1/leads/uploads",
                files={"file": ("leads.csv", BODY, "text/csv")},
                headers=headers,
            )
            for _ in range(4)
        )
    )
    assert sorted(r.status_code for r in racing) == [201, 409, 409, 409]
    assert len(await uploads_of(owner_engine, workspace_id)) == 2
    assert await stored_bytes(owner_engine, workspace_id) == limit - 1
    for key, _ in (await uploads_of(owner_engine, workspace_id)).values():
        assert await blobs.exists(workspace_id, key)


class FailingFor:
    """Blob storage whose deletes fail for one workspace."""

    def __init__(self, blobs: NatsObjectStore, workspace_id: Any) -> None:
        self._blobs = blobs
        self._workspace_id = workspace_id

    async def delete(self, workspace_id, key: str) -> bool:
        if workspace_id == self._workspace_id:
            raise ConnectionError("object store unavailable")
        return await self._blobs.delete(workspace_id, key)


async def test_one_workspaces_failure_does_not_stop_the_others(
    client, database, owner_engine, blobs
):
    failing, headers_a, _ = await leads_workspace(database, owner_engine, "Purge fails")
    healthy, headers_b, _ = await leads_workspace(database, owner_engine, "Purge works")
    upload_a = await upload(client, headers_a)
    upload_b = await upload(client, headers_b)
    for upload_id in (upload_a, upload_b):
        await age(owner_engine, upload_id, RETENTION + timedelta(hours=1))
    key_a = (await uploads_of(owner_engine, failing))[upload_a][0]

    assert await purge(database, FailingFor(blobs, failing)) == UploadPurge(deleted=1)
    assert (
        await count_rows(
            owner_engine, "SELECT count(*) FROM lead_uploads WHERE workspace_id = :ws", ws=healthy
        )
        == 0
    )
    # expired (nothing can import it now), its file still there for the next run to delete
    [(key, purged_at)] = (await uploads_of(owner_engine, failing)).values()
    assert key == key_a and purged_at is not None
    assert await blobs.exists(failing, key_a)
    again = await client.post(
        "/api/v1/leads/imports", json={"upload_id": upload_a}, headers=headers_a
    )
    assert (again.status_code, again.json()["code"]) == (410, "upload_expired")

    assert await purge(database, blobs) == UploadPurge(deleted=1)  # the next tick
    assert await uploads_of(owner_engine, failing) == {}
    assert not await blobs.exists(failing, key_a)


async def test_the_retention_is_measured_from_the_clock(client, database, owner_engine, blobs):
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Purge clock")
    upload_id = await upload(client, headers)
    clock = MovableClock()
    clock.advance(hours=RETENTION.total_seconds() / 3600 - 1)
    await purge(database, blobs, clock)
    assert upload_id in await uploads_of(owner_engine, workspace_id)
    clock.advance(hours=1, seconds=5)
    assert (await purge(database, blobs, clock)).deleted >= 1  # other tests' uploads too
    assert await uploads_of(owner_engine, workspace_id) == {}


class ImportingOnDelete:
    """Blob storage that, just before deleting each file, has the workspace's user ask to import
    that upload: a click on "import" while the purge runs."""

    def __init__(self, blobs: NatsObjectStore, client, headers, uploads: dict[str, str]) -> None:
        self._blobs = blobs
        self._client = client
        self._headers = headers
        self._uploads = uploads  # blob key → upload id
        self.answers: dict[str, tuple[int, str]] = {}

    async def delete(self, workspace_id, key: str) -> bool:
        upload_id = self._uploads[key]
        response = await self._client.post(
            "/api/v1/leads/imports", json={"upload_id": upload_id}, headers=self._headers
        )
        self.answers[upload_id] = (response.status_code, response.json().get("code", ""))
        return await self._blobs.delete(workspace_id, key)


async def test_an_import_asked_for_while_the_file_is_deleted_is_refused(
    client, database, owner_engine, nc, blobs
):
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Purge race")
    unused = await upload(client, headers)
    imported = await upload(client, headers)
    done = await start_import(client, headers, imported)
    assert (await run_import_job(database, nc, workspace_id, done["job_id"])).ack
    for upload_id in (unused, imported):
        await age(owner_engine, upload_id, RETENTION + timedelta(minutes=1))
    keys = {
        key: upload_id
        for upload_id, (key, _) in (await uploads_of(owner_engine, workspace_id)).items()
    }
    imports_before = await imports_of(owner_engine, workspace_id)

    racing = ImportingOnDelete(blobs, client, headers, keys)
    assert await purge(database, racing) == UploadPurge(deleted=1, purged=1)

    assert racing.answers == {
        unused: (410, "upload_expired"),
        imported: (410, "upload_expired"),
    }
    assert await imports_of(owner_engine, workspace_id) == imports_before  # none queued
    after = await uploads_of(owner_engine, workspace_id)
    assert set(after) == {imported}
    assert not any([await blobs.exists(workspace_id, key) for key in keys])


async def stored_objects(nc: Client, workspace_id: Any) -> dict[str, bool]:
    """The workspace's objects in the blob bucket, deleted ones too: name → deleted."""
    try:
        store = await nc.jetstream().object_store(DEFAULT_BUCKET)
        found = await store.list(ignore_deletes=False)
    except NotFoundError:  # no bucket yet, or an empty one
        return {}
    prefix = f"{workspace_id}/"
    return {info.name: bool(info.deleted) for info in found if info.name.startswith(prefix)}


async def test_an_upload_declaring_more_than_the_storage_left_is_refused_before_it_is_stored(
    client, database, owner_engine, nc
):
    """A raw upload whose ``Content-Length`` cannot fit is refused before a byte is stored; a
    multipart one (its file's exact size unknown until read) is stored, refused when
    registered, and deleted."""
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Storage early")
    await set_stored_bytes(owner_engine, workspace_id, STARTER_STORAGE - len(BODY) + 1)
    raw = await client.post(
        "/api/v1/leads/uploads", content=BODY, headers={**headers, "Content-Type": "text/csv"}
    )
    assert (raw.status_code, raw.json()["code"]) == (409, "storage_limit_reached"), raw.text
    assert await stored_objects(nc, workspace_id) == {}

    multipart = await client.post(
        "/api/v1/leads/uploads", files={"file": ("leads.csv", BODY, "text/csv")}, headers=headers
    )
    assert (multipart.status_code, multipart.json()["code"]) == (409, "storage_limit_reached")
    objects = await stored_objects(nc, workspace_id)
    assert len(objects) == 1 and all(objects.values())  # stored, then deleted
    assert await uploads_of(owner_engine, workspace_id) == {}
    assert await stored_bytes(owner_engine, workspace_id) == STARTER_STORAGE - len(BODY) + 1


async def test_a_user_deletes_an_upload_and_its_storage_is_given_back_at_once(
    client, database, owner_engine, nc, blobs
):
    """``DELETE /leads/uploads/{id}``: a file never imported goes with its row, one imported
    keeps its row, imports and report (importing it again is 410); both stop counting against
    the plan's storage; an upload an import is queued from is 409 ``upload_in_use``; another
    workspace's upload is 404; and the purge finds nothing left to do."""
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Upload delete")
    _, other_headers, _ = await leads_workspace(database, owner_engine, "Upload delete other")
    unused = await upload(client, headers)
    imported = await upload(client, headers)
    waiting = await upload(client, headers)
    done = await start_import(client, headers, imported)
    assert (await run_import_job(database, nc, workspace_id, done["job_id"])).ack
    queued = await start_import(client, headers, waiting)
    before = await uploads_of(owner_engine, workspace_id)
    assert await stored_bytes(owner_engine, workspace_id) == 3 * len(BODY)

    theirs = await client.delete(f"/api/v1/leads/uploads/{unused}", headers=other_headers)
    assert (theirs.status_code, theirs.json()["code"]) == (404, "upload_not_found")
    busy = await client.delete(f"/api/v1/leads/uploads/{waiting}", headers=headers)
    assert (busy.status_code, busy.json()["code"]) == (409, "upload_in_use")
    not_an_id = await client.delete("/api/v1/leads/uploads/nope", headers=headers)
    assert not_an_id.status_code == 404
    assert await uploads_of(owner_engine, workspace_id) == before

    for upload_id in (unused, imported):
        response = await client.delete(f"/api/v1/leads/uploads/{upload_id}", headers=headers)
        assert response.status_code == 204, response.text
        assert not await blobs.exists(workspace_id, before[upload_id][0])
    after = await uploads_of(owner_engine, workspace_id)
    assert set(after) == {imported, waiting}
    assert after[imported][1] is not None and after[waiting] == before[waiting]
    assert await stored_bytes(owner_engine, workspace_id) == len(BODY)
    gone = await client.delete(f"/api/v1/leads/uploads/{unused}", headers=headers)
    assert gone.status_code == 404
    again = await client.delete(f"/api/v1/leads/uploads/{imported}", headers=headers)
    assert again.status_code == 204  # nothing left to delete, nothing given back twice
    assert await stored_bytes(owner_engine, workspace_id) == len(BODY)

    view = await client.get(f"/api/v1/leads/imports/{done['import_id']}", headers=headers)
    assert (view.status_code, view.json()["counts"]["created"]) == (200, 1)
    report = await client.get(f"/api/v1/leads/imports/{done['import_id']}/errors", headers=headers)
    assert [line["code"] for line in error_lines(report.text)] == ["invalid_email", "no_identity"]
    expired = await client.post(
        "/api/v1/leads/imports", json={"upload_id": imported}, headers=headers
    )
    assert (expired.status_code, expired.json()["code"]) == (410, "upload_expired")
    assert queued["import_id"] in await imports_of(owner_engine, workspace_id)

    for upload_id in after:
        await age(owner_engine, upload_id, RETENTION + timedelta(hours=1))
    assert await purge(database, blobs) == UploadPurge()  # the queued import's upload stays
    assert await uploads_of(owner_engine, workspace_id) == after
    assert await stored_bytes(owner_engine, workspace_id) == len(BODY)


async def test_a_retried_upload_is_answered_once_and_its_file_stored_and_counted_once(
    client, database, owner_engine, nc
):
    """``Idempotency-Key`` on ``POST /leads/uploads``: the same file again (bytes and name,
    multipart with another boundary or raw) gets the first answer replayed, nothing stored or
    counted; another file or another name with the key is 422 ``idempotency_key_reused``; a
    refused upload keeps nothing, so its retry runs."""
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Upload retry")
    keyed = {**headers, "Idempotency-Key": "upload-1"}
    first = await client.post(
        "/api/v1/leads/uploads", files={"file": ("leads.csv", BODY, "text/csv")}, headers=keyed
    )
    assert first.status_code == 201, first.text
    assert first.json()["sha256"] == hashlib.sha256(BODY).hexdigest()
    retries = [
        await client.post(
            "/api/v1/leads/uploads", files={"file": ("leads.csv", BODY, "text/csv")}, headers=keyed
        ),
        await client.post(
            "/api/v1/leads/uploads?filename=leads.csv",
            content=BODY,
            headers={**keyed, "Content-Type": "text/csv"},
        ),
    ]
    for retry in retries:
        assert retry.status_code == 201, retry.text
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json() == first.json()
    assert set(await uploads_of(owner_engine, workspace_id)) == {first.json()["upload_id"]}
    assert len(await stored_objects(nc, workspace_id)) == 1
    assert await stored_bytes(owner_engine, workspace_id) == len(BODY)

    for other in (
        {"files": {"file": ("leads.csv", BODY + b"Alan,Turing,,,alan@b.example,,,,\r\n")}},
        {"files": {"file": ("other.csv", BODY, "text/csv")}},
        {"content": BODY, "headers": {**keyed, "Content-Type": "text/csv"}},  # no name
    ):
        reused = await client.post("/api/v1/leads/uploads", **{"headers": keyed, **other})
        assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert len(await stored_objects(nc, workspace_id)) == 1
    assert await stored_bytes(owner_engine, workspace_id) == len(BODY)

    await set_stored_bytes(owner_engine, workspace_id, STARTER_STORAGE)  # now full
    full = {**headers, "Idempotency-Key": "upload-2"}
    refused = await client.post(
        "/api/v1/leads/uploads", files={"file": ("b.csv", BODY, "text/csv")}, headers=full
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "storage_limit_reached")
    await set_stored_bytes(owner_engine, workspace_id, len(BODY))
    retried = await client.post(
        "/api/v1/leads/uploads", files={"file": ("b.csv", BODY, "text/csv")}, headers=full
    )
    assert retried.status_code == 201, retried.text
    assert "Idempotent-Replayed" not in retried.headers
