"""One taskiq broker per job queue, on NATS JetStream, and how a delivery is settled.

Each queue has its own subject, ``WORK_QUEUE`` stream (exactly ``job_stream_config``) and durable
pull consumer with an explicit config: explicit acks, a generous ``ack_wait`` and a
``max_deliver``. Messages are taskiq's JSON (the broker's default serializer; never pickle).

taskiq acks a message and nothing else. A job needs more: "come back in N seconds" (a retry's
backoff, a job running elsewhere) and "still working" while it runs. So this broker hands the
receiver a :class:`Delivery` for each message: the job task records its settlement on it, and
taskiq's own ack call (``AcknowledgeType.WHEN_EXECUTED``: after the task returned, which is after
the job row is final or re-queued) performs it, as an ack or as a NAK with a delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from contextvars import ContextVar
from typing import Any

from nats.aio.msg import Msg as NatsMessage
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ConfigDict
from taskiq import AckableMessage
from taskiq.acks import AcknowledgeType
from taskiq.receiver import Receiver
from taskiq_nats import PullBasedJetStreamBroker

from scaliyo.adapters.messaging.streams import job_stream_config
from scaliyo.adapters.queue.messages import queue_durable, queue_stream, queue_subject
from scaliyo.adapters.settings import Settings
from scaliyo.domain.jobs.job import Queue

log = logging.getLogger("scaliyo.jobs.broker")

# Jobs one worker process runs at once, per queue.
QUEUE_CONCURRENCY = {Queue.AI_GENERATION: 3, Queue.DATA_PROCESSING: 2}
# How long one pull request waits for a message before asking again.
FETCH_TIMEOUT_SECONDS = 5.0
# Ack once the task has returned: by then the job row is final or re-queued.
ACK_TYPE = AcknowledgeType.WHEN_EXECUTED


class Delivery:
    """One JetStream delivery; settled once, after its task returned (ack unless told otherwise)."""

    def __init__(self, message: NatsMessage) -> None:
        self._message = message
        self.redeliver_in: float | None = None

    @property
    def num_delivered(self) -> int:
        return self._message.metadata.num_delivered

    async def keep_alive(self) -> None:
        """Tell JetStream the message is still being worked on (resets its ack wait)."""
        await self._message.in_progress()

    async def settle(self) -> None:
        try:
            if self.redeliver_in is None:
                await self._message.ack()
            else:
                # No delay means "redeliver now"; a delay is sent in nanoseconds.
                await self._message.nak(delay=self.redeliver_in or None)
        except Exception:
            # JetStream redelivers it after the ack wait; the job's row decides what happens then.
            log.warning("could not settle a job message", exc_info=True)


class DeliveredMessage(AckableMessage):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    delivery: Delivery


# The delivery of the message the current task runs for (set per callback task).
current_delivery: ContextVar[Delivery | None] = ContextVar("current_delivery", default=None)


class DeliveryReceiver(Receiver):
    """taskiq's receiver, making each message's :class:`Delivery` visible to its task."""

    async def callback(self, message: bytes | AckableMessage, raise_err: bool = False) -> None:
        # Each callback runs in a task of its own, so this value is the task's alone.
        current_delivery.set(message.delivery if isinstance(message, DeliveredMessage) else None)
        await super().callback(message, raise_err=raise_err)


def consumer_config(queue: Queue, settings: Settings) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=queue_durable(queue),
        filter_subject=queue_subject(queue),
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=float(settings.job_ack_wait_seconds),
        max_deliver=settings.job_max_deliver,
    )


class QueueBroker(PullBasedJetStreamBroker):
    """The broker of one job queue. ``consume=False`` makes a broker that only sends (the
    scheduler's), which leaves the consumer's config to the workers."""

    def __init__(self, queue: Queue, settings: Settings, *, consume: bool = True) -> None:
        super().__init__(
            servers=settings.require_nats(),
            subject=queue_subject(queue),
            stream_name=queue_stream(queue),
            durable=queue_durable(queue),
            stream_config=job_stream_config(queue),
            consumer_config=consumer_config(queue, settings),
            pull_consume_batch=1,
            pull_consume_timeout=FETCH_TIMEOUT_SECONDS,
            name=f"scaliyo-{queue.value}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
        )
        self.queue = queue
        self._consume = consume
        # Set once ``listen`` has ended and withdrawn its pull requests.
        self.listening_stopped = asyncio.Event()
        self.listening_stopped.set()

    async def _startup_consumer(self) -> None:
        if self._consume:
            await super()._startup_consumer()

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        self.listening_stopped.clear()
        try:
            while True:
                try:
                    messages: list[NatsMessage] = await self.consumer.fetch(
                        batch=self.pull_consume_batch, timeout=self.pull_consume_timeout
                    )
                except NatsTimeoutError:
                    continue
                for message in messages:
                    delivery = Delivery(message)
                    yield DeliveredMessage(
                        data=message.data, ack=delivery.settle, delivery=delivery
                    )
        finally:
            # A pull request still waiting at the server would take the very messages this
            # worker hands back at shutdown (and hold them for an ack wait): withdraw our
            # interest first, so they go to another worker at once.
            with contextlib.suppress(Exception):
                await self.consumer.unsubscribe()
            self.listening_stopped.set()


def queue_receiver(broker: QueueBroker, **overrides: Any) -> DeliveryReceiver:
    """The receiver that runs ``broker``'s messages with the queue's concurrency."""
    options: dict[str, Any] = {
        "max_async_tasks": QUEUE_CONCURRENCY[broker.queue],
        "max_prefetch": 0,
        "ack_type": ACK_TYPE,
        "run_startup": False,
        "validate_params": True,
    }
    options.update(overrides)
    return DeliveryReceiver(broker, **options)
