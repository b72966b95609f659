"""Attempt limits that hold across processes: sliding windows over ``rate_limit_events``.

A platform path (``scaliyo_system``; the request role cannot read the table). One row per
counted attempt, stamped with the database clock so every process agrees on time. Changes to a
bucket take ``pg_advisory_xact_lock(hashtext(bucket))`` in their transaction, so a check and the
record it guards are atomic (``hit``): two processes cannot both take the last attempt of a
window. Old rows are purged by the scheduler's housekeeping (kept a day, longer than any window).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from scaliyo.adapters.persistence.tables import rate_limit_events


class PostgresAttemptLimiter:
    def __init__(self, system_engine: AsyncEngine) -> None:
        self._engine = system_engine

    async def retry_after(self, bucket: str, limit: int, window: timedelta) -> int | None:
        async with self._engine.begin() as connection:
            return await _wait(connection, bucket, limit, window)

    async def record(self, bucket: str) -> None:
        async with self._engine.begin() as connection:
            await _lock(connection, bucket)
            await _record(connection, bucket)

    async def hit(self, bucket: str, limit: int, window: timedelta) -> int | None:
        async with self._engine.begin() as connection:
            await _lock(connection, bucket)
            wait = await _wait(connection, bucket, limit, window)
            if wait is None:
                await _record(connection, bucket)
            return wait

    async def clear(self, bucket: str) -> None:
        async with self._engine.begin() as connection:
            await _lock(connection, bucket)
            await connection.execute(
                delete(rate_limit_events).where(rate_limit_events.c.bucket == bucket)
            )


async def _lock(connection: AsyncConnection, bucket: str) -> None:
    await connection.execute(select(func.pg_advisory_xact_lock(func.hashtext(bucket))))


async def _record(connection: AsyncConnection, bucket: str) -> None:
    await connection.execute(
        insert(rate_limit_events).values(bucket=bucket, at=func.clock_timestamp())
    )


async def _wait(
    connection: AsyncConnection, bucket: str, limit: int, window: timedelta
) -> int | None:
    """Whole seconds until one more attempt fits in the window (None: it fits now)."""
    now: datetime = await connection.scalar(select(func.clock_timestamp()))
    in_window = (rate_limit_events.c.bucket == bucket, rate_limit_events.c.at > now - window)
    count = await connection.scalar(
        select(func.count()).select_from(rate_limit_events).where(*in_window)
    )
    if count < limit:
        return None
    # The attempt that must leave the window before one more fits.
    leaving: datetime = await connection.scalar(
        select(rate_limit_events.c.at)
        .where(*in_window)
        .order_by(rate_limit_events.c.at)
        .offset(count - limit)
        .limit(1)
    )
    return max(1, math.ceil((leaving + window - now).total_seconds()))
