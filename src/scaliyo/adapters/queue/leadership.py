"""Exactly one active instance: a PostgreSQL session advisory lock held on its own connection.

Used by the scheduler (a platform path, ``scaliyo_system``). The instance holding the lock does
the work; others stand by and try again. The lock lives as long as its connection: when that
connection is lost the work is stopped at once, since another instance may take over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("scaliyo.leadership")


async def try_lock(connection: AsyncConnection, name: str) -> bool:
    """Take the session lock ``name`` on ``connection`` (autocommit) if free."""
    return bool(await connection.scalar(select(func.pg_try_advisory_lock(func.hashtext(name)))))


async def run_as_single_instance(
    engine: AsyncEngine,
    name: str,
    work: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    *,
    retry_every: float = 2.0,
    check_every: float = 5.0,
) -> None:
    """Run ``work`` while this process holds the lock ``name``, until ``stop`` is set.

    ``engine`` should not pool connections (``NullPool``): closing the connection then ends the
    session and so releases the lock, whatever happened to the unlock.
    """
    while not stop.is_set():
        try:
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                if not await try_lock(connection, name):
                    log.info("another instance is active; standing by", extra={"lock": name})
                    await _wait(stop, retry_every)
                    continue
                log.info("active instance", extra={"lock": name})
                await _work_while_held(connection, work, stop, check_every)
                with contextlib.suppress(Exception):
                    await connection.scalar(select(func.pg_advisory_unlock(func.hashtext(name))))
        except Exception:
            log.exception("single-instance lock lost or unavailable; retrying")
            await _wait(stop, retry_every)


async def _work_while_held(
    connection: AsyncConnection,
    work: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    check_every: float,
) -> None:
    task = asyncio.ensure_future(work())
    try:
        while not stop.is_set() and not task.done():
            await _wait(stop, check_every, also=task)
            if not task.done():
                await connection.scalar(select(1))  # raises when the lock's session is gone
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _wait(stop: asyncio.Event, seconds: float, also: asyncio.Future | None = None) -> None:
    waiter = asyncio.ensure_future(stop.wait())
    pending = {waiter} if also is None else {waiter, also}
    try:
        await asyncio.wait(pending, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
