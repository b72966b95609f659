"""Idempotency-Key: one effect per key, replays of the stored answer, refusals with codes."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec
import pytest
from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from scaliyo.adapters.persistence.idempotency_store import Claimed, IdempotencyStore
from scaliyo.application.bus import Context
from scaliyo.domain.shared.errors import Conflict
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from scaliyo.entrypoints.http.idempotency import Idempotency
from tests.factories import insert_workspace, owner_api_key

EFFECTS: list[str] = []


class Body(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    fail: bool = False
    slow: bool = False


class Made(msgspec.Struct):
    name: str
    effect: int


class Refused(Conflict):
    code = "probe_refused"


@post("/probe/idempotent")
@inject
async def make(
    request: Request,
    data: JSONBody[Body],
    context: FromDishka[Context],
    idempotency: FromDishka[Idempotency],
) -> Response[Made]:
    async def produce() -> Made:
        if data.slow:
            await asyncio.sleep(0.5)
        if data.fail:
            raise Refused()
        EFFECTS.append(data.name)
        return Made(name=data.name, effect=len(EFFECTS))

    return await idempotency.run(request, context, produce)


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    app = create_app(SettingsProvider(settings), route_handlers=[make])
    async with AsyncTestClient(app=app) as client:
        yield client


@pytest.fixture
async def headers(owner_engine) -> dict[str, str]:
    workspace_id = await insert_workspace(owner_engine, "Idem")
    return (await owner_api_key(owner_engine, workspace_id)).headers()


async def test_a_retry_with_the_same_key_replays_without_a_second_effect(client, headers):
    first = await client.post(
        "/probe/idempotent", json={"name": "a"}, headers={**headers, "Idempotency-Key": "k-1"}
    )
    effects = len(EFFECTS)
    again = await client.post(
        "/probe/idempotent", json={"name": "a"}, headers={**headers, "Idempotency-Key": "k-1"}
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(EFFECTS) == effects


async def test_the_same_key_with_another_body_is_refused(client, headers):
    h = {**headers, "Idempotency-Key": "k-2"}
    assert (
        await client.post("/probe/idempotent", json={"name": "a"}, headers=h)
    ).status_code == 201
    reused = await client.post("/probe/idempotent", json={"name": "b"}, headers=h)
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"


async def test_keys_are_per_workspace(client, headers, owner_engine):
    other_ws = await insert_workspace(owner_engine, "Other")
    other = (await owner_api_key(owner_engine, other_ws)).headers()
    one = await client.post(
        "/probe/idempotent", json={"name": "x"}, headers={**headers, "Idempotency-Key": "shared"}
    )
    two = await client.post(
        "/probe/idempotent", json={"name": "x"}, headers={**other, "Idempotency-Key": "shared"}
    )
    assert one.json()["effect"] != two.json()["effect"]
    assert "Idempotent-Replayed" not in two.headers


async def test_a_failed_request_keeps_nothing(client, headers):
    h = {**headers, "Idempotency-Key": "k-3"}
    body = {"name": "f", "fail": True}
    first = await client.post("/probe/idempotent", json=body, headers=h)
    again = await client.post("/probe/idempotent", json=body, headers=h)
    # the retry ran the work again (and was refused again), it was not replayed or blocked
    assert first.status_code == again.status_code == 409
    assert again.json()["code"] == "probe_refused"
    assert "Idempotent-Replayed" not in again.headers


async def test_a_retry_while_the_first_runs_is_told_it_is_in_progress(
    client, headers, database, owner_engine
):
    """The first request's claim is taken here, as if it were still running elsewhere."""
    h = {**headers, "Idempotency-Key": "k-4", "content-type": "application/json"}
    body = b'{"name":"s"}'
    workspace_id = UUID((await client.get("/api/v1/workspace", headers=headers)).json()["id"])
    fingerprint = hashlib.sha256(b"\n".join([b"POST", b"/probe/idempotent", body])).hexdigest()
    store = IdempotencyStore(database.app)
    assert isinstance(
        await store.claim(workspace_id, "k-4", fingerprint, datetime.now(UTC)), Claimed
    )
    refused = await client.post("/probe/idempotent", content=body, headers=h)
    assert refused.status_code == 409
    assert refused.json()["code"] == "idempotency_request_in_progress"
    # a claim abandoned for over a minute (its process died) is taken over by the retry
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert isinstance(await store.claim(workspace_id, "k-4", fingerprint, later), Claimed)


async def test_a_request_still_running_holds_its_key_against_takeover(
    client, headers, owner_engine, monkeypatch
):
    """A long request (an upload of minutes) renews its claim while it runs, so a retry
    after ``ABANDONED_AFTER`` is still told it is in progress rather than run a second time."""
    monkeypatch.setattr("scaliyo.entrypoints.http.idempotency.HOLD_EVERY", timedelta(seconds=0.1))
    sent = datetime.now(UTC)
    done = await client.post(
        "/probe/idempotent",
        json={"name": "held", "slow": True},
        headers={**headers, "Idempotency-Key": "k-held"},
    )
    assert done.status_code == 201
    async with owner_engine.connect() as conn:
        held = (
            await conn.execute(text("SELECT created_at FROM idempotency_keys WHERE key = 'k-held'"))
        ).scalar_one()
    # claimed as the request came in, held again while it ran (half a second)
    assert held >= sent + timedelta(seconds=0.1)


@pytest.mark.parametrize("key", ["", "x" * 256, "with space"])
async def test_malformed_keys_are_refused(client, headers, key):
    response = await client.post(
        "/probe/idempotent", json={"name": "m"}, headers={**headers, "Idempotency-Key": key}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_idempotency_key"
