"""Running Alembic from code: ``scaliyo migrate``, the dev stack, the tests and ``/readyz``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def is_current(connection: AsyncConnection) -> bool:
    return await connection.run_sync(current_revision) == head_revision()


async def upgrade(bootstrap_url: URL, revision: str = "head") -> None:
    await _run(bootstrap_url, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(bootstrap_url: URL, revision: str) -> None:
    await _run(bootstrap_url, lambda cfg: command.downgrade(cfg, revision))


async def _run(url: URL, action) -> None:
    engine = create_async_engine(url, poolclass=None)
    try:
        async with engine.connect() as connection:

            def run(sync_connection: Connection) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync_connection
                action(config)

            await connection.run_sync(run)
            await connection.commit()
    finally:
        await engine.dispose()
