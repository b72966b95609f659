"""The engines of a process: one per database role it uses.

``app`` (scaliyo_app) serves every request and job that acts for a workspace; ``system``
(scaliyo_system, BYPASSRLS) is used only by the named platform paths of DESIGN.md, each an
adapter of its own. Engines are made when a process starts, never at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from scaliyo.adapters.settings import APP_ROLE, SYSTEM_ROLE, Settings

# a database that does not answer holds a request this long, not asyncpg's default minute
CONNECT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True, slots=True)
class Database:
    app: AsyncEngine
    system: AsyncEngine

    @classmethod
    def connect(cls, settings: Settings) -> Database:
        def engine(role: str, pool_size: int) -> AsyncEngine:
            return create_async_engine(
                settings.role_url(role),
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                pool_recycle=1800,
                connect_args={
                    "server_settings": {"application_name": f"scaliyo-{role}"},
                    "timeout": CONNECT_TIMEOUT_SECONDS,
                },
            )

        return cls(
            app=engine(APP_ROLE, settings.db_pool_size),
            system=engine(SYSTEM_ROLE, max(2, settings.db_pool_size // 4)),
        )

    async def dispose(self) -> None:
        await self.app.dispose()
        await self.system.dispose()


# connection exceptions (class 08), the server shutting down or starting (57P01–57P03), out of
# connections (53300)
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot serve now (unreachable, starting, shutting
    down, out of connections) rather than that a statement is wrong: anywhere in its chain of
    causes (SQLAlchemy wraps the driver's error, which may wrap asyncpg's or an ``OSError``)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, asyncpg.exceptions.ConnectionDoesNotExistError):
            return True
        if isinstance(current, OSError) and _raised_in_driver(current):
            return True  # refused, reset, timed out (TimeoutError is an OSError)
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        code = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if code and str(code).startswith(_UNAVAILABLE_SQLSTATES):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


def _raised_in_driver(error: BaseException) -> bool:
    """Whether ``error`` came out of asyncpg's code (an ``OSError`` elsewhere is not the
    database's)."""
    tb = error.__traceback__
    while tb is not None:
        if f"{os.sep}asyncpg{os.sep}" in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    return False
