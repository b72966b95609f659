"""JetStream streams, declared in one place.

``EVENTS`` carries domain events (``scaliyo.events.>``, LIMITS retention, many consumers).
Each job queue has its own ``WORK_QUEUE`` stream, subject and durable (see adapters/queue). A
stream that already exists keeps its old config, so ``ensure_streams`` updates it explicitly.
"""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from scaliyo.adapters.queue.messages import queue_stream, queue_subject
from scaliyo.domain.jobs.job import Queue

EVENTS_STREAM = "EVENTS"
EVENTS_SUBJECTS = ["scaliyo.events.>"]
# Nats-Msg-Id de-duplication window: a relay that restarts within it never publishes twice.
DUPLICATE_WINDOW_SECONDS = 2 * 60 * 60
EVENTS_MAX_AGE_SECONDS = 7 * 24 * 60 * 60


def events_stream_config() -> StreamConfig:
    return StreamConfig(
        name=EVENTS_STREAM,
        subjects=EVENTS_SUBJECTS,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=EVENTS_MAX_AGE_SECONDS,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        discard=DiscardPolicy.OLD,
    )


def job_stream_config(queue: Queue) -> StreamConfig:
    return StreamConfig(
        name=queue_stream(queue),
        subjects=[queue_subject(queue)],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        discard=DiscardPolicy.OLD,
    )


def all_stream_configs() -> list[StreamConfig]:
    return [events_stream_config(), *(job_stream_config(queue) for queue in Queue)]


async def ensure_streams(js: JetStreamContext) -> None:
    """Create each stream, or bring an existing one to the declared config."""
    for config in all_stream_configs():
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config=config)
        else:
            await js.update_stream(config=config)
