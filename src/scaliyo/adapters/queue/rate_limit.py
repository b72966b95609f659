"""A start limit that holds across processes: a sliding-window log in PostgreSQL.

At most ``limit`` starts per ``window`` in any window, exactly (a token bucket allows bursts that
break "any 60 s window"). One row per start in ``rate_limit_events`` (a platform table, written
through the ``scaliyo_system`` engine: this limiter is a named platform path). To start, one
transaction takes ``pg_advisory_xact_lock(hashtext(bucket))``, reads the database clock, counts
the bucket's rows in ``[now - window, now]`` and, below the limit, records the start at ``now``.
At the limit it computes when enough rows leave the window, commits (releasing the lock and the
connection) and sleeps until then: a waiting worker holds no database connection.

Why it is exact: starts are serialised by the lock and stamped with the clock read under it, so
each start at ``t`` saw every earlier start and fewer than ``limit`` in ``[t - window, t]``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.persistence.tables import rate_limit_events

log = logging.getLogger("scaliyo.jobs.rate_limit")

# Sleep a hair past the moment the oldest start leaves the window.
_EPSILON_SECONDS = 0.005


class PostgresStartLimiter:
    def __init__(
        self, system_engine: AsyncEngine, *, bucket: str, limit: int, window_seconds: float
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self._engine = system_engine
        self.bucket = bucket
        self.limit = limit
        self.window = timedelta(seconds=window_seconds)

    async def acquire(self, ref: str) -> None:
        """Wait until a start is allowed, then record it (``ref`` names what started)."""
        while True:
            wait = await self.try_acquire(ref)
            if wait is None:
                return
            log.debug("rate limited", extra={"bucket": self.bucket, "wait": wait})
            await asyncio.sleep(wait)

    async def try_acquire(self, ref: str) -> float | None:
        """Record a start if one is allowed now (None); otherwise the seconds to wait."""
        async with self._engine.begin() as connection:
            await connection.execute(select(func.pg_advisory_xact_lock(func.hashtext(self.bucket))))
            now: datetime = await connection.scalar(select(func.clock_timestamp()))
            in_window = (
                rate_limit_events.c.bucket == self.bucket,
                rate_limit_events.c.at >= now - self.window,
            )
            count = await connection.scalar(
                select(func.count()).select_from(rate_limit_events).where(*in_window)
            )
            if count < self.limit:
                await connection.execute(
                    insert(rate_limit_events).values(bucket=self.bucket, at=now, ref=ref)
                )
                return None
            # The start that must leave the window before one more fits.
            leaving: datetime = await connection.scalar(
                select(rate_limit_events.c.at)
                .where(*in_window)
                .order_by(rate_limit_events.c.at)
                .offset(count - self.limit)
                .limit(1)
            )
        return max((leaving + self.window - now).total_seconds(), 0.0) + _EPSILON_SECONDS


async def purge_rate_limit_events(system_engine: AsyncEngine, *, older_than: timedelta) -> int:
    """Delete starts older than ``older_than`` (well past any window); returns how many."""
    async with system_engine.begin() as connection:
        result = await connection.execute(
            delete(rate_limit_events).where(
                rate_limit_events.c.at < func.clock_timestamp() - older_than
            )
        )
    return result.rowcount or 0
