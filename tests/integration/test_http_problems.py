"""Every error answers problem details: framework errors, domain errors and crashes alike.

The spine has no JSON-body route yet, so the body cases use probe routes added to a real app
through ``create_app(route_handlers=...)``; the error handling under test is the app's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest
from litestar import get, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from scaliyo.domain.shared.errors import Conflict, DomainError, ErrorKind
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import JSON_BODY_LIMIT, create_app

PROBLEM = "application/problem+json"


class Widget(msgspec.Struct, kw_only=True):
    name: str
    count: int


@post("/probe/widgets", sync_to_thread=False)
def create_widget(data: JSONBody[Widget]) -> Widget:
    return data


class QuotaUsedUp(DomainError):
    code = "quota_used_up"
    kind = ErrorKind.UNAVAILABLE
    title = "The quota is used up"


@get("/probe/conflict", sync_to_thread=False)
def conflict() -> None:
    raise Conflict("Already there.")


@get("/probe/unavailable", sync_to_thread=False)
def unavailable() -> None:
    raise QuotaUsedUp()


@get("/probe/crash", sync_to_thread=False)
def crash() -> None:
    raise RuntimeError("database password is hunter2 at /srv/app/secret.py")


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    app = create_app(
        SettingsProvider(settings), route_handlers=[create_widget, conflict, unavailable, crash]
    )
    async with AsyncTestClient(app=app) as client:
        yield client


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"https://scaliyo.dev/problems/{code}"
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_a_valid_body_is_accepted(client):
    response = await client.post("/probe/widgets", json={"name": "bolt", "count": 3})
    assert response.status_code == 201
    assert response.json() == {"name": "bolt", "count": 3}


async def test_unknown_route_is_404_route_not_found(client):
    assert_problem(await client.get("/api/v1/nothing-here"), 404, "route_not_found")
    assert_problem(await client.get("/nope"), 404, "route_not_found")


async def test_wrong_method_is_405_with_allow(client):
    response = await client.delete("/healthz")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


async def test_malformed_json_is_400(client):
    response = await client.post(
        "/probe/widgets", content=b'{"name": "bolt", ', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 400, "malformed_json")
    assert "errors" not in body


async def test_wrong_types_are_422_with_field_paths(client):
    response = await client.post("/probe/widgets", json={"name": "bolt", "count": "many"})
    body = assert_problem(response, 422, "validation_failed")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("count", "invalid_type")]
    assert body["errors"][0]["message"]

    missing = await client.post("/probe/widgets", json={"count": 1})
    body = assert_problem(missing, 422, "validation_failed")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("name", "required")]

    not_an_object = await client.post("/probe/widgets", json=[1, 2])
    body = assert_problem(not_an_object, 422, "validation_failed")
    assert body["errors"][0]["field"] == "body"


async def test_oversize_body_is_413(client):
    big = b'{"name": "' + b"x" * (JSON_BODY_LIMIT + 10) + b'", "count": 1}'
    response = await client.post(
        "/probe/widgets", content=big, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload_too_large")


async def test_domain_errors_map_by_kind(client):
    body = assert_problem(await client.get("/probe/conflict"), 409, "conflict")
    assert body["detail"] == "Already there."
    assert "errors" not in body
    assert_problem(await client.get("/probe/unavailable"), 503, "quota_used_up")


async def test_unexpected_exception_is_500_without_internals(client):
    response = await client.get("/probe/crash")
    assert_problem(response, 500, "internal_error")
    text = response.text
    for leak in ("hunter2", "RuntimeError", "Traceback", "secret.py", "/srv"):
        assert leak not in text


async def test_openapi_schema_is_served(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/jobs" in paths
    assert "/api/v1/jobs/{job_id}" in paths
    assert "/api/v1/workspace" in paths
