"""Event consumers: durable JetStream pull consumers on EVENTS that apply each event once.

Rules a consumer keeps:

- It has a durable of its own name on the EVENTS stream, filtered to the subjects of the event
  types it accepts (or to ``filter_subject``). Worker processes running the same consumer share
  that durable, so each message goes to one of them at a time.
- A message is handled in ONE transaction as ``scaliyo_app`` scoped to the event's workspace
  (as ``scaliyo_system`` for an event that belongs to no workspace): first
  ``(consumer, Nats-Msg-Id, workspace_id)`` goes into ``inbox`` with ``ON CONFLICT DO NOTHING``;
  if the row was already there the effect is skipped; otherwise the handler applies its effect.
  The transaction commits, and only then is the message acked. A redelivery (lost ack, crash,
  ack wait passed, relay republish) therefore has no second effect.
- Every event carries ``type`` and ``version``; a consumer declares the versions it accepts per
  type, and acks and skips any other with a log line.
- A handler that raises rolls back and the message is nakked with a growing delay, so it is
  redelivered. On its last delivery (``max_deliver``) the failure is logged and the message is
  terminated; it stays in the stream.
- A message without a UUID ``Nats-Msg-Id`` or a JSON object body can be neither deduplicated nor
  handled: it is logged and terminated.
- Handlers never commit (the consumer does) and stay well under ``ack_wait``; long work is a job.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy.dialects.postgresql import insert

from scaliyo.adapters.messaging import headers as h
from scaliyo.adapters.messaging.streams import EVENTS_STREAM, ensure_streams
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.outbox_writer import event_subject
from scaliyo.adapters.persistence.tables import inbox
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.domain.shared.ids import WorkspaceId

log = logging.getLogger("scaliyo.consumer")

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FETCH_TIMEOUT = 5.0


class EventHandler(Protocol):
    async def __call__(self, event: dict[str, Any], uow: SqlUnitOfWork) -> None:
        """Apply the event's effect through ``uow`` (do not commit)."""
        ...


@dataclass(frozen=True)
class Consumer:
    """One named consumer of events: its handler, what it accepts and its delivery settings."""

    name: str
    handle: EventHandler
    # event type -> the versions of it this consumer understands (kept as frozensets)
    accepts: Mapping[str, Collection[int]]
    filter_subject: str | None = None
    max_deliver: int = 10
    ack_wait: float = 30.0
    retry_delay: float = 1.0
    max_retry_delay: float = 60.0
    fetch_batch: int = 20
    deliver_policy: DeliverPolicy = DeliverPolicy.ALL

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"consumer name {self.name!r} must match {_NAME.pattern}")
        if not self.accepts:
            raise ValueError(f"consumer {self.name!r} accepts no event type")
        accepts = {kind: frozenset(versions) for kind, versions in self.accepts.items()}
        if not all(accepts.values()):
            raise ValueError(f"consumer {self.name!r} names an event type with no version")
        object.__setattr__(self, "accepts", accepts)
        if self.max_deliver < 1 or self.fetch_batch < 1:
            raise ValueError("max_deliver and fetch_batch must be at least 1")

    def accepts_event(self, event_type: object, version: object) -> bool:
        return isinstance(version, int) and version in self.accepts.get(str(event_type), ())

    def subjects(self) -> list[str]:
        if self.filter_subject:
            return [self.filter_subject]
        return sorted(event_subject(kind) for kind in self.accepts)

    def consumer_config(self) -> ConsumerConfig:
        subjects = self.subjects()
        return ConsumerConfig(
            name=self.name,
            durable_name=self.name,
            deliver_policy=self.deliver_policy,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            max_deliver=self.max_deliver,
            filter_subject=subjects[0] if len(subjects) == 1 else None,
            filter_subjects=subjects if len(subjects) > 1 else None,
        )

    def retry_delay_after(self, deliveries: int) -> float:
        return min(self.retry_delay * 2 ** max(deliveries - 1, 0), self.max_retry_delay)


class ConsumerRegistry:
    """The consumers a worker runs; names are unique (each is a durable and an inbox key)."""

    def __init__(self, consumers: Iterable[Consumer] = ()) -> None:
        self._consumers: dict[str, Consumer] = {}
        for consumer in consumers:
            self.add(consumer)

    def add(self, consumer: Consumer) -> Consumer:
        if consumer.name in self._consumers:
            raise ValueError(f"consumer {consumer.name!r} is registered twice")
        self._consumers[consumer.name] = consumer
        return consumer

    def __iter__(self) -> Iterator[Consumer]:
        return iter(self._consumers.values())

    def __len__(self) -> int:
        return len(self._consumers)


class Outcome(StrEnum):
    APPLIED = "applied"  # effect applied, committed, acked
    DUPLICATE = "duplicate"  # inbox already had it: acked, no effect
    SKIPPED = "skipped"  # type or version not accepted: acked, no effect
    RETRY = "retry"  # handler failed: nakked for redelivery
    GAVE_UP = "gave_up"  # handler failed on its last delivery: terminated
    REJECTED = "rejected"  # no usable message id or body: terminated


async def ensure_consumer(js: JetStreamContext, consumer: Consumer) -> None:
    """Create the durable, or bring an existing one to the declared config."""
    await js.add_consumer(EVENTS_STREAM, config=consumer.consumer_config())


async def process_message(consumer: Consumer, database: Database, msg: Msg) -> Outcome:
    """Handle one delivery of one message (see the module's rules); returns what happened."""
    message_id = _message_id(msg)
    event = _event(msg)
    try:
        workspace_id = None if event is None else _workspace_id(msg, event)
    except ValueError:
        event = None
    if message_id is None or event is None:
        log.error(
            "consumer %s terminates a message it cannot handle (subject %s: no UUID %s, no JSON "
            "object body or a malformed workspace id)",
            consumer.name,
            msg.subject,
            h.MSG_ID,
        )
        await msg.term()
        return Outcome.REJECTED
    event_type, version = event.get("type"), event.get("version")
    if not consumer.accepts_event(event_type, version):
        log.info(
            "consumer %s skips %s version %s (message %s): not a version it accepts",
            consumer.name,
            event_type,
            version,
            message_id,
        )
        await msg.ack()
        return Outcome.SKIPPED
    engine = database.system if workspace_id is None else database.app
    try:
        async with SqlUnitOfWork(engine, workspace_id) as uow:
            first_time = await _record_in_inbox(uow, consumer.name, message_id, workspace_id)
            if first_time:
                await consumer.handle(event, uow)
                await uow.commit()
    except Exception:
        deliveries = msg.metadata.num_delivered
        if deliveries >= consumer.max_deliver:
            log.exception(
                "consumer %s gives up on message %s (%s) after %d deliveries; it stays in the "
                "stream",
                consumer.name,
                message_id,
                event_type,
                deliveries,
            )
            await msg.term()
            return Outcome.GAVE_UP
        delay = consumer.retry_delay_after(deliveries)
        log.warning(
            "consumer %s failed on message %s (%s), delivery %d; retrying in %.1f s",
            consumer.name,
            message_id,
            event_type,
            deliveries,
            delay,
            exc_info=True,
        )
        await msg.nak(delay=delay)
        return Outcome.RETRY
    await msg.ack()
    return Outcome.APPLIED if first_time else Outcome.DUPLICATE


async def run_consumer(
    consumer: Consumer, database: Database, js: JetStreamContext, stop: asyncio.Event
) -> None:
    """Pull and handle messages for one consumer until ``stop`` is set."""
    subscription = None
    delay = 0.5
    while subscription is None and not stop.is_set():
        try:
            await ensure_consumer(js, consumer)
            subscription = await js.pull_subscribe_bind(durable=consumer.name, stream=EVENTS_STREAM)
        except Exception as exc:
            log.warning("consumer %s cannot subscribe yet: %r", consumer.name, exc)
            await _wait(stop, delay)
            delay = min(delay * 2, 10.0)
    if subscription is None:
        return
    try:
        while not stop.is_set():
            try:
                messages = await _fetch(subscription, consumer.fetch_batch, stop)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except Exception as exc:
                log.warning("consumer %s cannot fetch: %r", consumer.name, exc)
                await _wait(stop, 1.0)
                continue
            for msg in messages:
                try:
                    await process_message(consumer, database, msg)
                except Exception:
                    # e.g. the ack could not be sent: the message comes back and is a duplicate
                    log.exception("consumer %s could not settle a message", consumer.name)
    finally:
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()


async def run_consumers(
    consumers: Iterable[Consumer],
    database: Database,
    js: JetStreamContext,
    stop: asyncio.Event,
) -> None:
    """Run every consumer until ``stop`` is set (the worker process calls this)."""
    consumers = list(consumers)
    if not consumers:
        return
    delay = 0.5
    while not stop.is_set():
        try:
            await ensure_streams(js)
            break
        except Exception as exc:
            log.warning("consumers cannot declare streams yet: %r", exc)
            await _wait(stop, delay)
            delay = min(delay * 2, 10.0)
    await asyncio.gather(*(run_consumer(c, database, js, stop) for c in consumers))


async def _fetch(
    subscription: JetStreamContext.PullSubscription, batch: int, stop: asyncio.Event
) -> list[Msg]:
    fetch = asyncio.ensure_future(subscription.fetch(batch, timeout=FETCH_TIMEOUT))
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        fetch.cancel()
        raise
    finally:
        stopped.cancel()
    if fetch.done():
        return fetch.result()
    # Stopping: messages already on their way are redelivered after ack_wait.
    fetch.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await fetch
    return []


async def _record_in_inbox(
    uow: SqlUnitOfWork, consumer: str, message_id: UUID, workspace_id: UUID | None
) -> bool:
    statement = (
        insert(inbox)
        .values(consumer=consumer, message_id=message_id, workspace_id=workspace_id)
        .on_conflict_do_nothing(index_elements=[inbox.c.consumer, inbox.c.message_id])
        .returning(inbox.c.message_id)
    )
    return (await uow.connection.execute(statement)).first() is not None


def _message_id(msg: Msg) -> UUID | None:
    raw = (msg.headers or {}).get(h.MSG_ID)
    try:
        return UUID(raw) if raw else None
    except ValueError:
        return None


def _event(msg: Msg) -> dict[str, Any] | None:
    try:
        event = json.loads(msg.data)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def _workspace_id(msg: Msg, event: dict[str, Any]) -> WorkspaceId | None:
    raw = (msg.headers or {}).get(h.WORKSPACE_ID) or event.get("workspace_id")
    if not raw:
        return None
    return WorkspaceId(UUID(str(raw)))


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
