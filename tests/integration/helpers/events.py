"""Helpers shared by the messaging tests: unique event types, publishing, reading back, polling."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.messaging import headers as h
from scaliyo.adapters.messaging.consumer import Consumer, run_consumers
from scaliyo.adapters.messaging.relay import OutboxRelay
from scaliyo.adapters.messaging.streams import EVENTS_STREAM, ensure_streams
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.outbox_writer import event_subject
from scaliyo.adapters.persistence.tables import audit_log
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork


def unique_type(label: str) -> str:
    """An event type (and so a subject) no other test uses."""
    return f"t{uuid4().hex[:12]}_{label}"


def unique_name(label: str) -> str:
    return f"test-{label}-{uuid4().hex[:10]}"


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, within: float = 30.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def publish_event(
    js: JetStreamContext,
    event_type: str,
    *,
    workspace_id: UUID | None,
    version: int = 1,
    **fields: Any,
) -> UUID:
    """Publish an event as the relay does (``Nats-Msg-Id``, type/version/workspace headers)."""
    message_id = new_id()
    payload = {"type": event_type, "version": version, "workspace_id": workspace_id, **fields}
    headers = {
        h.MSG_ID: str(message_id),
        h.MESSAGE_TYPE: event_type,
        h.MESSAGE_VERSION: str(version),
    }
    if workspace_id is not None:
        headers[h.WORKSPACE_ID] = str(workspace_id)
    await js.publish(
        event_subject(event_type), json.dumps(payload, default=str).encode(), headers=headers
    )
    return message_id


async def read_subject(
    js: JetStreamContext, subject: str, *, expected: int, within: float = 30.0
) -> list[Msg]:
    """Every message on ``subject`` in stream order (at least ``expected`` of them)."""
    sub = await js.pull_subscribe(
        subject,
        stream=EVENTS_STREAM,
        config=ConsumerConfig(ack_policy=AckPolicy.NONE, inactive_threshold=30),
    )
    messages: list[Msg] = []
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            try:
                batch = await sub.fetch(500, timeout=1)
            except TimeoutError:
                batch = []
            messages.extend(batch)
            if len(messages) >= expected and (not batch or batch[-1].metadata.num_pending == 0):
                break
    finally:
        await sub.unsubscribe()
    return messages


async def subject_count(js: JetStreamContext, subject: str) -> int:
    info = await js.stream_info(EVENTS_STREAM, subjects_filter=subject)
    return (info.state.subjects or {}).get(subject, 0)


async def consumer_settled(js: JetStreamContext, name: str) -> bool:
    """Every message of the consumer delivered and settled (acked, or terminated)."""
    try:
        info = await js.consumer_info(EVENTS_STREAM, name)
    except NotFoundError:
        return False  # not created yet
    return info.num_pending == 0 and info.num_ack_pending == 0


async def audit_count(engine: AsyncEngine, workspace_id: UUID | None, action: str) -> int:
    where = [audit_log.c.action == action]
    if workspace_id is None:
        where.append(audit_log.c.workspace_id.is_(None))
    else:
        where.append(audit_log.c.workspace_id == workspace_id)
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).where(*where))).scalar_one()


def audit_consumer(
    name: str,
    event_type: str,
    calls: list[dict[str, Any]],
    *,
    fail_first: int = 0,
    release: asyncio.Event | None = None,
    **options: Any,
) -> Consumer:
    """A consumer whose effect is one ``audit_log`` row in the event's workspace.

    It raises on its first ``fail_first`` calls; with ``release`` it waits for that event
    before writing (to hold its transaction open).
    """

    async def handle(event: dict[str, Any], uow: SqlUnitOfWork) -> None:
        calls.append(event)
        if len(calls) <= fail_first:
            raise RuntimeError(f"handler failure #{len(calls)} (wanted by the test)")
        if release is not None:
            await asyncio.wait_for(release.wait(), 30)
        await uow.connection.execute(
            insert(audit_log).values(
                id=new_id(),
                workspace_id=uow.workspace_id,
                actor="consumer:" + name,
                action=event["type"],
                target=str(event.get("key")),
            )
        )

    return Consumer(name=name, handle=handle, accepts={event_type: {1}}, **options)


@contextlib.asynccontextmanager
async def consuming(
    consumers: list[Consumer], database: Database, js: JetStreamContext
) -> AsyncIterator[None]:
    """Run the consumers in the background; stop them and delete their durables after."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_consumers(consumers, database, js, stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        for name in {consumer.name for consumer in consumers}:
            with contextlib.suppress(Exception):
                await js.delete_consumer(EVENTS_STREAM, name)


@contextlib.asynccontextmanager
async def relaying(database: Database, js: JetStreamContext, **options: Any):
    """An outbox relay running in the background; stopped (and its lock released) after."""
    relay = OutboxRelay(database.system, js, **options)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield relay
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def drain_outbox(database: Database, js: JetStreamContext) -> None:
    """Relay whatever other tests left unsent, so this test's rows come first in a batch."""
    await ensure_streams(js)
    relay = OutboxRelay(database.system, js)
    try:
        await wait_until(lambda: _nothing_left(relay), what="the outbox to drain")
    finally:
        await relay.aclose()


async def _nothing_left(relay: OutboxRelay) -> bool:
    return await relay.relay_once() == 0 and relay.is_active
