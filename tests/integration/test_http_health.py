"""Probes and metrics: /healthz, /readyz against real and broken dependencies, /metrics."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from scaliyo.adapters.persistence.database import database_unavailable
from scaliyo.adapters.settings import Settings
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.conftest import recreate_database
from tests.factories import insert_workspace, owner_api_key

PROBLEM = "application/problem+json"


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        yield client


def closed_port() -> int:
    """A local port nothing listens on (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def unmigrated_url(server_url) -> AsyncIterator[str]:
    name = "scaliyo_http_unmigrated"
    url = await recreate_database(server_url, name)
    yield url
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


async def test_healthz_is_200(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_when_everything_is_up(client):
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "nats": "ok"},
    }


async def test_readyz_is_503_when_the_schema_is_behind(unmigrated_url, nats_url):
    settings = Settings(database_url=unmigrated_url, nats_url=nats_url, db_pool_size=1)
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        response = await client.get("/readyz")
        assert (await client.get("/healthz")).status_code == 200
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["checks"] == {"database": "ok", "migrations": "behind", "nats": "ok"}


async def test_readyz_is_503_when_nats_is_unreachable(migrated_url):
    settings = Settings(
        database_url=migrated_url, nats_url=f"nats://127.0.0.1:{closed_port()}", db_pool_size=1
    )
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        response = await client.get("/readyz")
        assert (await client.get("/healthz")).status_code == 200
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["nats"] != "ok"
    assert body["checks"]["database"] == "ok"
    assert "nats" in body["detail"]


async def test_metrics_count_requests_by_route_template(client, owner_engine):
    workspace_id = await insert_workspace(owner_engine, "Metrics Co")
    key = await owner_api_key(owner_engine, workspace_id)
    for job_id in ("one", "two", "three"):
        await client.get(f"/api/v1/jobs/{job_id}", headers=key.headers())
    await client.get("/no/such/route")

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    job_lines = [
        line
        for line in lines
        if line.startswith("scaliyo_http_requests_total{")
        and 'route="/api/v1/jobs/{job_id}"' in line
    ]
    assert len(job_lines) == 1
    assert 'status="404"' in job_lines[0]
    assert job_lines[0].endswith(" 3.0")
    assert not any('route="/api/v1/jobs/one"' in line for line in lines)
    assert any('route="unmatched"' in line for line in lines)
    assert any(line.startswith("scaliyo_http_request_duration_seconds_bucket{") for line in lines)


async def test_a_request_while_the_database_is_unreachable_is_503_database_unavailable(
    nats_url, owner_engine
):
    """The API answers requests that need the database with 503 ``database_unavailable`` and
    ``Retry-After`` (not a 500) while it cannot be reached; ``/healthz`` still answers."""
    workspace_id = await insert_workspace(owner_engine, "Database Down Co")
    key = await owner_api_key(owner_engine, workspace_id)
    down = f"postgresql://scaliyo@127.0.0.1:{closed_port()}/scaliyo"
    settings = Settings(database_url=down, nats_url=nats_url, db_pool_size=1)
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        response = await client.get("/api/v1/workspace", headers=key.headers())
        assert (await client.get("/healthz")).status_code == 200
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.headers["retry-after"] == "2"
    assert response.json()["code"] == "database_unavailable"


async def test_only_errors_of_reaching_the_database_count_as_it_being_unavailable(
    migrated_url,
):
    """A connection refused by the server's address is; a wrong statement, or an ``OSError``
    from anywhere but the driver, is not (those stay 500s)."""
    refused = create_async_engine(f"postgresql+asyncpg://x@127.0.0.1:{closed_port()}/x")
    with pytest.raises(OSError) as raised:
        async with refused.connect():
            pass
    assert database_unavailable(raised.value)
    await refused.dispose()

    engine = create_async_engine(migrated_url)
    try:
        with pytest.raises(DBAPIError) as wrong:
            async with engine.connect() as conn:
                await conn.execute(text("SELEC 1"))
        assert not database_unavailable(wrong.value)
        with pytest.raises(DBAPIError) as shut:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        assert database_unavailable(shut.value)
    finally:
        await engine.dispose()
    assert not database_unavailable(FileNotFoundError("no such file"))
