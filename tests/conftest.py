"""Session-wide servers: a real PostgreSQL and a real NATS JetStream (and a connection to it per
test, ``nc``).

By default both are embedded (started once per test session under /tmp and removed after);
``TEST_DATABASE_URL`` (a role that may create roles and databases) and ``TEST_NATS_URL`` point
the suite at other servers instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from scaliyo.adapters.messaging.connection import connect_nats
from scaliyo.adapters.messaging.streams import ensure_streams
from scaliyo.adapters.persistence import migrate
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.settings import Settings, async_url

TEST_DB = "scaliyo_test"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A superuser URL on a PostgreSQL server for this session."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield async_url(url).render_as_string(hide_password=False)
        return
    from scaliyo.entrypoints.dev.servers import start_postgres

    root = Path(tempfile.mkdtemp(prefix="sc-pg-", dir="/tmp"))
    server = start_postgres(root / "d", delete_on_stop=True)
    yield server.url
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def recreate_database(server_url: str, name: str) -> str:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return database_url(server_url, name)


@pytest.fixture(scope="session")
async def migrated_url(server_url: str) -> str:
    """The bootstrap (superuser) URL of a database migrated to head."""
    url = await recreate_database(server_url, TEST_DB)
    await migrate.upgrade(make_url(url))
    return url


@pytest.fixture(scope="session")
def settings(migrated_url: str, nats_url: str) -> Settings:
    return Settings(database_url=migrated_url, nats_url=nats_url, db_pool_size=5)


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database.connect(settings)
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
async def owner_engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    """The superuser engine, for test set-up and for reading what a test produced."""
    engine = create_async_engine(migrated_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    """A NATS connection with the JetStream streams in place."""
    client = await connect_nats(nats_url, name="tests")
    await ensure_streams(client.jetstream())
    yield client
    await client.close()


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    if url := os.environ.get("TEST_NATS_URL"):
        yield url
        return
    from scaliyo.entrypoints.dev.servers import start_nats

    store = Path(tempfile.mkdtemp(prefix="sc-nats-", dir="/tmp"))
    server = start_nats(store)
    yield server.url
    server.stop()
    shutil.rmtree(store, ignore_errors=True)
