"""Idempotency-Key records: the first request with a key runs, its success is stored, and a
retry with the same key and the same request gets the stored response (24 h, per workspace).

A record is claimed in its own short transaction before the work runs and completed after it.
A request still running holds its claim (``hold``, every ``HOLD_EVERY``); a claim whose request
died before completing (not held for ``ABANDONED_AFTER``) may be taken over by a retry: the one
case where a retry can repeat an effect is a process that died between the work's commit and
the record's completion, a window of milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.persistence.tables import idempotency_keys
from scaliyo.adapters.persistence.unit_of_work import set_tenant

RETENTION = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=1)
HOLD_EVERY = timedelta(seconds=20)


@dataclass(frozen=True, slots=True)
class Claimed:
    """This request owns the key: run the work, then complete or release the claim."""


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    response: Any


@dataclass(frozen=True, slots=True)
class KeyReused:
    """The key was used with another request."""


@dataclass(frozen=True, slots=True)
class InProgress:
    """The first request with this key has not finished yet."""


Outcome = Claimed | Replay | KeyReused | InProgress


class IdempotencyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, workspace_id: UUID, key: str, fingerprint: str, now: datetime) -> Outcome:
        async with self._engine.begin() as connection:
            await set_tenant(connection, workspace_id)
            inserted = await connection.execute(
                insert(idempotency_keys)
                .values(workspace_id=workspace_id, key=key, fingerprint=fingerprint, created_at=now)
                .on_conflict_do_nothing()
                .returning(idempotency_keys.c.key)
            )
            if inserted.first() is not None:
                return Claimed()
            row = (
                await connection.execute(
                    select(idempotency_keys)
                    .where(idempotency_keys.c.workspace_id == workspace_id)
                    .where(idempotency_keys.c.key == key)
                    .with_for_update()
                )
            ).one()
            expired = row.created_at <= now - RETENTION
            abandoned = row.status is None and row.created_at <= now - ABANDONED_AFTER
            if expired or (abandoned and row.fingerprint == fingerprint):
                await connection.execute(
                    update(idempotency_keys)
                    .where(idempotency_keys.c.workspace_id == workspace_id)
                    .where(idempotency_keys.c.key == key)
                    .values(
                        fingerprint=fingerprint,
                        status=None,
                        response=None,
                        created_at=now,
                        completed_at=None,
                    )
                )
                return Claimed()
            if row.fingerprint != fingerprint:
                return KeyReused()
            if row.status is None:
                return InProgress()
            return Replay(status=row.status, response=row.response)

    async def complete(
        self, workspace_id: UUID, key: str, status: int, response: Any, now: datetime
    ) -> None:
        await self._write(
            workspace_id,
            update(idempotency_keys)
            .where(*_the_key(workspace_id, key))
            .values(status=status, response=response, completed_at=now),
        )

    async def hold(self, workspace_id: UUID, key: str, now: datetime) -> None:
        """The claim's request is still running (a long upload): not abandoned yet."""
        await self._write(
            workspace_id,
            update(idempotency_keys)
            .where(*_the_key(workspace_id, key), idempotency_keys.c.status.is_(None))
            .values(created_at=now),
        )

    async def release(self, workspace_id: UUID, key: str) -> None:
        """The work failed: forget the claim, so a retry runs the request again."""
        await self._write(
            workspace_id,
            delete(idempotency_keys).where(
                *_the_key(workspace_id, key), idempotency_keys.c.status.is_(None)
            ),
        )

    async def _write(self, workspace_id: UUID, statement: Any) -> None:
        async with self._engine.begin() as connection:
            await set_tenant(connection, workspace_id)
            await connection.execute(statement)


def _the_key(workspace_id: UUID, key: str) -> tuple[Any, Any]:
    return idempotency_keys.c.workspace_id == workspace_id, idempotency_keys.c.key == key


async def purge_idempotency_keys(system_engine: AsyncEngine, now: datetime) -> int:
    """Delete records past retention (a platform path: every workspace's rows)."""
    async with system_engine.begin() as connection:
        result = await connection.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at <= now - RETENTION)
        )
    return result.rowcount or 0
