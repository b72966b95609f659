"""Event consumers on real NATS and PostgreSQL: one effect per message, whatever the deliveries."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.messaging.consumer import (
    Consumer,
    ConsumerRegistry,
    Outcome,
    process_message,
)
from scaliyo.adapters.messaging.streams import EVENTS_STREAM
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.outbox_writer import event_subject
from scaliyo.adapters.persistence.tables import inbox
from tests.factories import insert_workspace
from tests.integration.helpers.events import (
    audit_consumer,
    audit_count,
    consumer_settled,
    consuming,
    publish_event,
    subject_count,
    unique_name,
    unique_type,
    wait_until,
)


@pytest.fixture
def js(nc: Client) -> JetStreamContext:
    return nc.jetstream()


async def deliver_again(js: JetStreamContext, subject: str):
    """A fresh delivery of the (single) message on ``subject``, through a consumer of its own."""
    sub = await js.pull_subscribe(
        subject,
        stream=EVENTS_STREAM,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, inactive_threshold=30),
    )
    try:
        [msg] = await sub.fetch(1, timeout=10)
    finally:
        await sub.unsubscribe()
    return msg


async def inbox_rows(owner_engine: AsyncEngine, consumer: str) -> int:
    async with owner_engine.connect() as conn:
        query = select(func.count()).where(inbox.c.consumer == consumer)
        return (await conn.execute(query)).scalar_one()


async def test_the_same_message_delivered_twice_has_one_effect(
    database: Database, owner_engine: AsyncEngine, js: JetStreamContext
) -> None:
    workspace = await insert_workspace(owner_engine, "Inbox twice")
    event_type = unique_type("noted")
    calls: list[dict[str, Any]] = []
    consumer = audit_consumer(unique_name("twice"), event_type, calls)
    await publish_event(js, event_type, workspace_id=workspace, key="k1")

    first = await deliver_again(js, event_subject(event_type))
    second = await deliver_again(js, event_subject(event_type))
    assert first.headers == second.headers  # one message, delivered twice

    assert await process_message(consumer, database, first) == Outcome.APPLIED
    assert await process_message(consumer, database, second) == Outcome.DUPLICATE

    assert await audit_count(owner_engine, workspace, event_type) == 1
    assert len(calls) == 1
    assert await inbox_rows(owner_engine, consumer.name) == 1


async def test_a_redelivery_while_the_first_is_still_running_has_no_second_effect(
    database: Database, owner_engine: AsyncEngine, js: JetStreamContext
) -> None:
    """Two processes share a durable; the first holds its transaction past ``ack_wait``, so the
    message is redelivered while it runs. The second delivery waits on the inbox row and skips."""
    workspace = await insert_workspace(owner_engine, "Inbox overlap")
    event_type = unique_type("noted")
    name = unique_name("overlap")
    calls: list[dict[str, Any]] = []
    release = asyncio.Event()
    consumer = audit_consumer(name, event_type, calls, release=release, ack_wait=1.0)
    second_process = audit_consumer(name, event_type, calls, release=release, ack_wait=1.0)
    await publish_event(js, event_type, workspace_id=workspace, key="k1")

    async def redelivered() -> bool:
        info = await js.consumer_info(EVENTS_STREAM, name)
        return (info.num_redelivered or 0) >= 1

    # run_consumers keeps one loop per consumer, so two calls stand for two worker processes.
    async with consuming([consumer], database, js), consuming([second_process], database, js):
        await wait_until(lambda: _called(calls), what="the first delivery to reach the handler")
        await wait_until(redelivered, what="the server to redeliver the running message")
        release.set()
        await wait_until(lambda: consumer_settled(js, name), what="both deliveries settled")

    assert await audit_count(owner_engine, workspace, event_type) == 1
    assert len(calls) == 1  # the second delivery never reached the handler


async def test_a_failing_handler_is_redelivered_and_then_succeeds_once(
    database: Database, owner_engine: AsyncEngine, js: JetStreamContext
) -> None:
    workspace = await insert_workspace(owner_engine, "Inbox retry")
    event_type = unique_type("noted")
    name = unique_name("retry")
    calls: list[dict[str, Any]] = []
    consumer = audit_consumer(name, event_type, calls, fail_first=2, retry_delay=0.05)
    await publish_event(js, event_type, workspace_id=workspace, key="k1")

    async with consuming([consumer], database, js):
        await wait_until(
            lambda: _audited(owner_engine, workspace, event_type), what="the effect after retries"
        )
        await wait_until(lambda: consumer_settled(js, name), what="the message acked")

    assert len(calls) == 3  # one message, delivered three times: failed twice, then applied
    assert await audit_count(owner_engine, workspace, event_type) == 1
    assert await inbox_rows(owner_engine, name) == 1


async def test_a_handler_failing_on_every_delivery_is_given_up_and_kept_in_the_stream(
    database: Database, owner_engine: AsyncEngine, js: JetStreamContext
) -> None:
    workspace = await insert_workspace(owner_engine, "Inbox give up")
    event_type = unique_type("noted")
    name = unique_name("giveup")
    calls: list[dict[str, Any]] = []
    consumer = audit_consumer(
        name, event_type, calls, fail_first=100, max_deliver=3, retry_delay=0.05
    )
    await publish_event(js, event_type, workspace_id=workspace, key="k1")

    async with consuming([consumer], database, js):
        await wait_until(lambda: _called(calls, 3), what="three deliveries")
        await wait_until(lambda: consumer_settled(js, name), what="the message terminated")

    assert len(calls) == 3
    assert await audit_count(owner_engine, workspace, event_type) == 0
    assert await inbox_rows(owner_engine, name) == 0  # every attempt rolled back
    assert await subject_count(js, event_subject(event_type)) == 1


async def test_versions_a_consumer_does_not_accept_are_acked_and_skipped(
    database: Database, owner_engine: AsyncEngine, js: JetStreamContext
) -> None:
    workspace = await insert_workspace(owner_engine, "Inbox versions")
    event_type = unique_type("noted")
    name = unique_name("versions")
    calls: list[dict[str, Any]] = []
    consumer = audit_consumer(name, event_type, calls)
    await publish_event(js, event_type, workspace_id=workspace, version=2, key="v2")
    await publish_event(js, event_type, workspace_id=workspace, version=1, key="v1")

    async with consuming([consumer], database, js):
        await wait_until(lambda: consumer_settled(js, name), what="both messages settled")

    assert [call["key"] for call in calls] == ["v1"]
    assert await audit_count(owner_engine, workspace, event_type) == 1


async def test_an_event_of_no_workspace_is_handled_on_the_platform_path(
    database: Database, owner_engine: AsyncEngine, js: JetStreamContext
) -> None:
    event_type = unique_type("platform")
    name = unique_name("platform")
    calls: list[dict[str, Any]] = []
    consumer = audit_consumer(name, event_type, calls)
    message_id = await publish_event(js, event_type, workspace_id=None, key="p")

    async with consuming([consumer], database, js):
        await wait_until(lambda: consumer_settled(js, name), what="the message acked")

    assert await audit_count(owner_engine, None, event_type) == 1
    async with owner_engine.connect() as conn:
        row = (await conn.execute(select(inbox).where(inbox.c.consumer == name))).one()
    assert row.message_id == message_id
    assert row.workspace_id is None


async def test_a_consumer_receives_only_the_event_types_it_accepts(
    database: Database, owner_engine: AsyncEngine, js: JetStreamContext
) -> None:
    workspace = await insert_workspace(owner_engine, "Inbox types")
    first, second, other = unique_type("a"), unique_type("b"), unique_type("other")
    name = unique_name("types")
    calls: list[dict[str, Any]] = []
    consumer = audit_consumer(name, first, calls)
    consumer = Consumer(name=name, handle=consumer.handle, accepts={first: {1}, second: {1}})
    for event_type in (first, other, second):
        await publish_event(js, event_type, workspace_id=workspace, key=event_type)

    async with consuming([consumer], database, js):
        await wait_until(lambda: _called(calls, 2), what="both accepted types handled")
        await wait_until(lambda: consumer_settled(js, name), what="the consumer to settle")
        info = await js.consumer_info(EVENTS_STREAM, name)

    assert sorted(call["type"] for call in calls) == sorted([first, second])
    assert info.delivered.consumer_seq == 2  # the other type was never delivered to it


def test_the_registry_refuses_two_consumers_of_one_name() -> None:
    registry = ConsumerRegistry()
    consumer = audit_consumer("same-name", "anything", [])
    registry.add(consumer)
    with pytest.raises(ValueError, match="twice"):
        registry.add(audit_consumer("same-name", "other", []))
    assert list(registry) == [consumer]


async def _called(calls: list[Any], times: int = 1) -> bool:
    return len(calls) >= times


async def _audited(engine: AsyncEngine, workspace, action: str) -> bool:
    return await audit_count(engine, workspace, action) >= 1
