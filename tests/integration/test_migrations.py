"""Every migration runs up and down, and the models match the migrated schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from scaliyo.adapters.persistence import migrate
from scaliyo.adapters.persistence.migrations.env_options import include_object
from scaliyo.adapters.persistence.tables import metadata
from tests.conftest import recreate_database


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            return set(rows.scalars())
    finally:
        await engine.dispose()


async def test_base_head_base_head(server_url):
    url = await recreate_database(server_url, "scaliyo_migrations")
    bootstrap = make_url(url)

    await migrate.upgrade(bootstrap)
    head_tables = await _tables(url)
    assert {"workspaces", "jobs", "outbox", "inbox", "audit_log"} <= head_tables

    await migrate.downgrade(bootstrap, "base")
    assert await _tables(url) <= {"alembic_version"}

    await migrate.upgrade(bootstrap)
    assert await _tables(url) == head_tables

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            assert await migrate.is_current(conn)
    finally:
        await engine.dispose()


async def test_models_and_migrated_schema_do_not_differ(migrated_url):
    engine = create_async_engine(migrated_url)
    try:
        async with engine.connect() as conn:

            def diff(sync_conn):
                context = MigrationContext.configure(
                    sync_conn,
                    opts={"include_object": include_object, "compare_server_default": True},
                )
                return compare_metadata(context, metadata)

            differences = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert differences == []


async def test_a_database_behind_head_is_not_current(server_url):
    url = await recreate_database(server_url, "scaliyo_behind")
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            assert not await migrate.is_current(conn)
    finally:
        await engine.dispose()
