"""Outbox and inbox housekeeping: deletes sent outbox rows and old inbox rows.

A named platform path (``scaliyo_system``: it looks across workspaces). Rules:

- Only outbox rows already sent are deleted; an unsent row is never touched, however old.
- Inbox rows are kept longer than any message can still be delivered: longer than the EVENTS
  stream's ``max_age`` and its duplicate window (``streams.py``). A shorter retention is refused,
  since a redelivery after its inbox row is gone would apply an event twice.
- Deletes run in bounded batches (short transactions, no long lock on either table).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.messaging.streams import DUPLICATE_WINDOW_SECONDS, EVENTS_MAX_AGE_SECONDS

MIN_INBOX_RETENTION = timedelta(seconds=max(EVENTS_MAX_AGE_SECONDS, DUPLICATE_WINDOW_SECONDS))
DEFAULT_INBOX_RETENTION = MIN_INBOX_RETENTION + timedelta(days=1)
DEFAULT_SENT_RETENTION = timedelta(days=3)
BATCH_SIZE = 5_000

_PURGE_OUTBOX = text(
    "DELETE FROM outbox WHERE seq IN ("
    " SELECT seq FROM outbox"
    " WHERE sent_at IS NOT NULL AND sent_at < now() - CAST(:age AS interval)"
    " ORDER BY sent_at LIMIT :limit)"
)
_PURGE_INBOX = text(
    "DELETE FROM inbox WHERE (consumer, message_id) IN ("
    " SELECT consumer, message_id FROM inbox"
    " WHERE processed_at < now() - CAST(:age AS interval)"
    " ORDER BY processed_at LIMIT :limit)"
)


async def purge_outbox_and_inbox(
    system_engine: AsyncEngine,
    *,
    sent_older_than: timedelta = DEFAULT_SENT_RETENTION,
    inbox_older_than: timedelta = DEFAULT_INBOX_RETENTION,
    batch_size: int = BATCH_SIZE,
) -> dict[str, int]:
    """Delete sent outbox rows and inbox rows past retention; the number deleted per table."""
    if inbox_older_than < MIN_INBOX_RETENTION:
        raise ValueError(
            f"inbox retention {inbox_older_than} is shorter than the time a message can still "
            f"be delivered ({MIN_INBOX_RETENTION})"
        )
    if sent_older_than < timedelta(0) or batch_size < 1:
        raise ValueError("sent_older_than must not be negative and batch_size must be positive")
    return {
        "outbox": await _purge(system_engine, _PURGE_OUTBOX, sent_older_than, batch_size),
        "inbox": await _purge(system_engine, _PURGE_INBOX, inbox_older_than, batch_size),
    }


async def _purge(engine: AsyncEngine, statement, age: timedelta, batch_size: int) -> int:
    total = 0
    while True:
        async with engine.begin() as connection:
            deleted = (
                await connection.execute(statement, {"age": age, "limit": batch_size})
            ).rowcount
        total += deleted
        if deleted < batch_size:
            return total
