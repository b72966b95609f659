"""The outbox relay: publishes unsent outbox rows to JetStream, then marks them sent.

A named platform path: it reads every workspace's outbox as ``scaliyo_system``. Rules it keeps:

- One relay is active at a time across processes. The active one holds a PostgreSQL session
  advisory lock on a dedicated connection; the others stand by and try the lock again. When the
  lock connection is lost, the relay stops publishing until it holds the lock again.
- Rows are read in ``seq`` order and published with ``Nats-Msg-Id`` = outbox id, so a publish
  repeated after a crash falls in JetStream's duplicate window and is not stored twice.
- Order per aggregate: a row is published only once the previous row of its aggregate is acked,
  so a failed publish never lets a later event of the same aggregate overtake it (even across a
  reconnect that loses some messages and flushes others). Rows of different aggregates are in
  flight together, at most ``max_pending`` at a time (async publish, bounded pending acks): a
  batch goes out in waves, wave k holding the k-th row of each aggregate.
- Only acked rows are marked sent (in the background, while the next batch goes out). After a
  failed publish the rest of that aggregate waits for the next round; the relay backs off and
  retries. Nothing is lost or reordered.
- A row that can never be published — larger than the server's ``max_payload``, checked before
  publishing and again from the client's refusal — is marked dead (``dead_at``, ``dead_reason``,
  an error logged) and never tried again; the rest of its aggregate goes on, and the round is
  not a failure. Retried, it would fail every round: every round would back off (a batch every
  10 s for everyone) and, with a full batch of its aggregate behind it, nothing else would go
  out. Dead rows are kept for an operator; housekeeping leaves them.

Crash tests set ``SCALIYO_FAILPOINT=relay_after_publish``: the process then SIGKILLs itself after
a batch is published and acked, before it is marked sent. Nothing else reads that variable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from dataclasses import dataclass

from nats.errors import MaxPayloadError
from nats.js import JetStreamContext
from sqlalchemy import BigInteger, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from scaliyo.adapters.messaging import headers as h
from scaliyo.adapters.messaging.streams import ensure_streams

log = logging.getLogger("scaliyo.relay")

FAILPOINT_ENV = "SCALIYO_FAILPOINT"
FAILPOINT_AFTER_PUBLISH = "relay_after_publish"
# Key of the session advisory lock the active relay holds ("scaliyo outbox relay").
RELAY_LOCK_KEY = 0x5CA1_0B0C_5E1A_0001

_TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")
_ALIVE = text("SELECT 1")
_UNSENT = text(
    "SELECT seq, id::text AS id, workspace_id::text AS workspace_id, subject, aggregate_type,"
    " aggregate_id::text AS aggregate_id, message_type, version, payload::text AS payload"
    " FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL AND seq <> ALL(:marking)"
    " ORDER BY seq LIMIT :limit"
).bindparams(bindparam("marking", type_=ARRAY(BigInteger)))
_MARK_SENT = text("UPDATE outbox SET sent_at = now() WHERE seq = ANY(:seqs)").bindparams(
    bindparam("seqs", type_=ARRAY(BigInteger))
)
_MARK_DEAD = text(
    "UPDATE outbox SET dead_at = now(), dead_reason = :reason"
    " WHERE seq = :seq AND sent_at IS NULL AND dead_at IS NULL"
)


class RelayPublishFailed(RuntimeError):
    """Some publishes of a round were not acked; their rows stay unsent for the next round."""


@dataclass(frozen=True, slots=True)
class _Message:
    seq: int
    aggregate: tuple[str, str]
    subject: str
    payload: bytes
    headers: dict[str, str]


def _message(row) -> _Message:
    headers = {
        h.MSG_ID: row.id,
        h.MESSAGE_TYPE: row.message_type,
        h.MESSAGE_VERSION: str(row.version),
        h.AGGREGATE: f"{row.aggregate_type}:{row.aggregate_id}",
    }
    if row.workspace_id is not None:
        headers[h.WORKSPACE_ID] = row.workspace_id
    return _Message(
        seq=row.seq,
        aggregate=(row.aggregate_type, row.aggregate_id),
        subject=row.subject,
        payload=row.payload.encode(),
        headers=headers,
    )


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        js: JetStreamContext,
        *,
        batch_size: int = 500,
        max_pending: int = 256,
        poll_interval: float = 0.2,
        standby_interval: float = 1.0,
        ack_timeout: float = 5.0,
        lock_key: int = RELAY_LOCK_KEY,
        max_payload: int | None = None,
    ) -> None:
        """``max_payload``: the NATS connection's (``nc.max_payload``); larger rows are dead
        without a publish (nats-py would refuse them too, after taking a pending slot it never
        gives back)."""
        if batch_size < 1 or max_pending < 1:
            raise ValueError("batch_size and max_pending must be at least 1")
        self._engine = engine
        self._js = js
        self._batch_size = batch_size
        self._max_pending = max_pending
        self._poll_interval = poll_interval
        self._standby_interval = standby_interval
        self._ack_timeout = ack_timeout
        self._lock_key = lock_key
        self._max_payload = max_payload
        self._lock_connection: AsyncConnection | None = None
        self._marking: asyncio.Task | None = None
        self._marking_seqs: list[int] = []
        self._failpoint = os.environ.get(FAILPOINT_ENV)
        self.published = 0

    @property
    def is_active(self) -> bool:
        """Whether this relay holds the lock (as of its last round)."""
        return self._lock_connection is not None

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set: publish while rows wait, poll when idle, stand by while
        another relay is active, back off while NATS or PostgreSQL fail."""
        backoff = _Backoff()
        try:
            while not stop.is_set():
                try:
                    await ensure_streams(self._js)
                    break
                except Exception as exc:
                    log.warning("relay cannot declare streams yet: %r", exc)
                    await _wait(stop, backoff.next())
            backoff.reset()
            while not stop.is_set():
                try:
                    published = await self.relay_once()
                except Exception:
                    log.exception("outbox relay round failed; retrying")
                    await _wait(stop, backoff.next())
                    continue
                backoff.reset()
                if published < self._batch_size:
                    idle = self._poll_interval if self.is_active else self._standby_interval
                    await _wait(stop, idle)
        finally:
            await self.aclose()

    async def relay_once(self) -> int:
        """Publish one batch of unsent rows; the number published (and acked).

        The acked rows are marked sent in the background while the next batch is read and
        published (that batch leaves them out); a return of 0 means every row published so far
        is marked. Returns 0 without publishing while another relay holds the lock. Raises
        ``RelayPublishFailed`` when a publish failed (what was acked is still marked).
        """
        if not await self._hold_lock():
            await self._finish_marking()
            return 0
        async with self._engine.connect() as connection:
            result = await connection.execute(
                _UNSENT, {"limit": self._batch_size, "marking": self._marking_seqs}
            )
            rows = result.all()
        if not rows:
            await self._finish_marking()
            return 0
        acked, dead, errors = await self._publish([_message(row) for row in rows])
        await self._finish_marking()
        if dead:
            await self._mark_dead(dead)
        if acked:
            if self._failpoint == FAILPOINT_AFTER_PUBLISH:
                os.kill(os.getpid(), signal.SIGKILL)
            self._marking_seqs = acked
            self._marking = asyncio.create_task(self._mark_sent(acked))
            self.published += len(acked)
        if errors:
            raise RelayPublishFailed(
                f"{len(errors)} publish(es) not acked this round; first error: {errors[0]!r}"
            )
        return len(acked)

    async def aclose(self) -> None:
        """Finish marking, then give up the lock (if held) and its connection."""
        await self._finish_marking()
        connection, self._lock_connection = self._lock_connection, None
        if connection is None:
            return
        try:
            await connection.execute(_UNLOCK, {"key": self._lock_key})
            await connection.close()
        except Exception:
            # Closing the session for good releases the lock too.
            await _discard(connection)
        log.info("outbox relay stood down")

    async def _mark_dead(self, dead: list[tuple[_Message, str]]) -> None:
        async with self._engine.begin() as connection:
            for message, reason in dead:
                await connection.execute(_MARK_DEAD, {"seq": message.seq, "reason": reason})
        for message, reason in dead:
            log.error(
                "outbox row %d (%s, %s) can never be published and is set aside: %s",
                message.seq,
                message.headers[h.MESSAGE_TYPE],
                message.headers[h.MSG_ID],
                reason,
            )

    async def _mark_sent(self, seqs: list[int]) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(_MARK_SENT, {"seqs": seqs})

    async def _finish_marking(self) -> None:
        task, self._marking = self._marking, None
        if task is not None:
            try:
                await task
            except Exception:
                # The rows stay unsent and go out again: JetStream drops the duplicates.
                log.exception("outbox relay could not mark %d rows sent", len(self._marking_seqs))
        self._marking_seqs = []

    async def _hold_lock(self) -> bool:
        if self._lock_connection is not None:
            try:
                await self._lock_connection.execute(_ALIVE)
                return True
            except Exception as exc:
                log.warning("outbox relay lost its lock connection (%r); standing down", exc)
                connection, self._lock_connection = self._lock_connection, None
                await _discard(connection)
        connection = await self._engine.connect()
        try:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            held = (await connection.execute(_TRY_LOCK, {"key": self._lock_key})).scalar_one()
        except BaseException:
            await _discard(connection)
            raise
        if not held:
            await connection.close()
            return False
        self._lock_connection = connection
        log.info("outbox relay is active")
        return True

    async def _publish(
        self, messages: list[_Message]
    ) -> tuple[list[int], list[tuple[_Message, str]], list[BaseException]]:
        """Publish in waves: wave k holds the k-th message of every aggregate in the batch, and
        waits for its acks before the next, so an aggregate has one message in flight at most.
        The seqs acked, the messages that can never be published (with why), the errors."""
        acked: list[int] = []
        dead: list[tuple[_Message, str]] = []
        errors: list[BaseException] = []
        failed: set[tuple[str, str]] = set()
        slots = asyncio.Semaphore(self._max_pending)

        def release(_future: asyncio.Future) -> None:
            slots.release()

        for wave in _waves(messages):
            in_flight: list[tuple[asyncio.Future, _Message]] = []
            stalled = False
            for message in wave:
                if message.aggregate in failed:
                    continue  # the rest of this aggregate waits for the next round
                if self._max_payload is not None and len(message.payload) > self._max_payload:
                    dead.append((message, _too_large(len(message.payload), self._max_payload)))
                    continue
                if slots.locked():
                    try:
                        async with asyncio.timeout(self._ack_timeout):
                            await slots.acquire()
                    except TimeoutError as exc:  # no ack for a while: NATS is gone
                        errors.append(exc)
                        stalled = True
                        break
                else:
                    await slots.acquire()
                try:
                    future = await self._js.publish_async(
                        message.subject, message.payload, headers=message.headers
                    )
                except MaxPayloadError:
                    slots.release()
                    dead.append((message, _too_large(len(message.payload), None)))
                    continue
                except Exception as exc:
                    slots.release()
                    errors.append(exc)
                    failed.add(message.aggregate)
                    continue
                future.add_done_callback(release)
                in_flight.append((future, message))
            if in_flight:
                _, late = await asyncio.wait([f for f, _ in in_flight], timeout=self._ack_timeout)
                for future in late:
                    future.cancel()
                for future, message in in_flight:
                    error = (
                        TimeoutError("no ack in time") if future.cancelled() else future.exception()
                    )
                    if error is None:
                        acked.append(message.seq)
                    else:
                        errors.append(error)
                        failed.add(message.aggregate)
            if stalled:
                break
        return acked, dead, errors


def _too_large(size: int, limit: int | None) -> str:
    most = "the server's max_payload" if limit is None else f"max_payload, {limit:,} bytes"
    return f"the message is {size:,} bytes, more than {most}"


def _waves(messages: list[_Message]) -> list[list[_Message]]:
    waves: list[list[_Message]] = []
    depth: dict[tuple[str, str], int] = {}
    for message in messages:
        k = depth.get(message.aggregate, 0)
        depth[message.aggregate] = k + 1
        if k == len(waves):
            waves.append([])
        waves[k].append(message)
    return waves


async def _discard(connection: AsyncConnection) -> None:
    with contextlib.suppress(Exception):
        await connection.invalidate()
    with contextlib.suppress(Exception):
        await connection.close()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class _Backoff:
    def __init__(self, first: float = 0.5, limit: float = 10.0) -> None:
        self._first = first
        self._limit = limit
        self._next = first

    def next(self) -> float:
        delay, self._next = self._next, min(self._next * 2, self._limit)
        return delay

    def reset(self) -> None:
        self._next = self._first
