"""Request ids: accepted or made, echoed, and in every log line of the request (bus included)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
import structlog
from litestar.testing import AsyncTestClient

from scaliyo.adapters.logging import configure_logging
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.factories import insert_workspace, owner_api_key


@pytest.fixture
def log_stream(settings) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(settings, stream=stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.fixture
async def client(settings, log_stream) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        yield client


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_a_sane_incoming_id_is_echoed_and_logged_through_the_bus(
    client, log_stream, owner_engine
):
    workspace_id = await insert_workspace(owner_engine, "Request Id Co")
    key = await owner_api_key(owner_engine, workspace_id)
    response = await client.get(
        "/api/v1/jobs/01900000-0000-7000-8000-000000000000",
        headers={"X-Request-Id": "req-42.abc_DEF", **key.headers()},
    )
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "req-42.abc_DEF"
    assert response.json()["request_id"] == "req-42.abc_DEF"

    logged = [line for line in lines(log_stream) if line.get("request_id") == "req-42.abc_DEF"]
    access = [line for line in logged if line["event"] == "request"]
    assert len(access) == 1
    assert access[0]["status"] == 404
    assert access[0]["route"] == "/api/v1/jobs/{job_id}"
    assert access[0]["level"] == "info"
    assert access[0]["logger"] == "scaliyo.http.access"
    assert access[0]["timestamp"].endswith("Z")
    # the bus (stdlib logging with extra=) got the same id through the Context
    refused = [line for line in logged if line["event"] == "message refused"]
    assert [(r["message_type"], r["code"]) for r in refused] == [("GetJob", "job_not_found")]


@pytest.mark.parametrize(
    "incoming", [None, b"", b"x" * 129, b"has space", b"semi;colon", "ümlaut".encode()]
)
async def test_an_insane_or_missing_id_is_replaced(client, log_stream, incoming):
    headers = {} if incoming is None else {"X-Request-Id": incoming}
    response = await client.get("/nope", headers=headers)
    assert response.status_code == 404
    request_id = response.headers["x-request-id"]
    assert incoming is None or request_id.encode() != incoming
    assert 1 <= len(request_id) <= 128
    assert response.json()["request_id"] == request_id
    assert any(
        line["event"] == "request" and line["request_id"] == request_id
        for line in lines(log_stream)
    )


async def test_a_crash_is_logged_with_its_request_id_and_traceback(settings, log_stream):
    from litestar import get

    @get("/probe/crash", sync_to_thread=False)
    def crash() -> None:
        raise RuntimeError("boom for jane.doe@example.com")

    app = create_app(SettingsProvider(settings), route_handlers=[crash])
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/probe/crash", headers={"X-Request-Id": "crash-1"})
    assert response.status_code == 500
    errors = [line for line in lines(log_stream) if line["event"] == "unhandled error"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == "crash-1"
    assert errors[0]["level"] == "error"
    assert "RuntimeError" in errors[0]["exception"]
    assert "jane.doe@example.com" not in log_stream.getvalue()
    assert "j***@example.com" in errors[0]["exception"]
