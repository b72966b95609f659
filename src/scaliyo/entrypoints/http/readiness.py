"""What ``/readyz`` checks: PostgreSQL as scaliyo_app, NATS, and migrations at head.

Each check has its own short timeout and they run concurrently, so a hung dependency makes the
answer slow by at most one timeout. Failures are reported by name and a short reason; the
exception itself is logged, never returned.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable

from nats.aio.client import Client as NatsClient
from sqlalchemy import text

from scaliyo.adapters.logging import get_logger
from scaliyo.adapters.messaging.connection import connect_nats
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.migrate import is_current

log = get_logger("scaliyo.http.readiness")

OK = "ok"
CHECK_TIMEOUT_SECONDS = 2.0


class NatsLink:
    """The API process's NATS connection, opened in the background at start-up.

    ``connect_nats`` keeps retrying until a server answers, so the API starts (and answers
    ``/healthz``) while NATS is still down; ``/readyz`` reports it until the link is up.
    """

    def __init__(self, url: str, *, name: str = "scaliyo-api") -> None:
        self._url = url
        self._name = name
        self._task: asyncio.Task[NatsClient] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(connect_nats(self._url, name=self._name))

    @property
    def client(self) -> NatsClient | None:
        if self._task is None or not self._task.done() or self._task.cancelled():
            return None
        if self._task.exception() is not None:
            return None
        return self._task.result()

    async def connected(self) -> NatsClient:
        """The connection, once it is up (waits for the first one)."""
        self.start()
        assert self._task is not None
        return await asyncio.shield(self._task)

    async def ping(self) -> None:
        """A PING/PONG round trip; raises if the link is not up.

        While the first connection is still being made, waits for it (the caller bounds the
        wait), so a probe right after start-up is not failed for a link about to come up.
        """
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        client = self.client
        if client is None or not client.is_connected:
            raise ConnectionError("not connected")
        await client.flush(timeout=CHECK_TIMEOUT_SECONDS)  # type: ignore[arg-type]

    async def close(self) -> None:
        if self._task is None:
            return
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            return
        client = self.client
        if client is not None and not client.is_closed:
            with contextlib.suppress(Exception):
                await client.drain()


class Readiness:
    def __init__(
        self, database: Database, nats: NatsLink, *, timeout: float = CHECK_TIMEOUT_SECONDS
    ) -> None:
        self._database = database
        self._nats = nats
        self._timeout = timeout

    async def check(self) -> dict[str, str]:
        """``{"database": "ok", "migrations": "ok", "nats": "ok"}`` or the failing reasons."""
        database, nats = await asyncio.gather(
            self._guard("database", self._check_database()),
            self._guard("nats", self._nats.ping()),
        )
        checks: dict[str, str] = {}
        if isinstance(database, str):
            checks["database"] = database
            checks["migrations"] = "unknown"
        else:
            checks["database"] = OK
            checks["migrations"] = OK if database else "behind"
        checks["nats"] = OK if nats is None else nats
        return checks

    async def _check_database(self) -> bool:
        async with self._database.app.connect() as connection:
            await connection.execute(text("SELECT 1"))
            return await is_current(connection)

    async def _guard(self, name: str, check: Awaitable[object]) -> object:
        """The check's result, or a short reason string when it failed or took too long."""
        try:
            return await asyncio.wait_for(check, self._timeout)
        except TimeoutError:
            log.warning("readiness check timed out", check=name)
            return "timeout"
        except Exception as error:
            log.warning(
                "readiness check failed",
                check=name,
                error_type=type(error).__name__,
                error=str(error)[:300],
            )
            return "unreachable"


def is_ready(checks: dict[str, str]) -> bool:
    return all(value == OK for value in checks.values())
