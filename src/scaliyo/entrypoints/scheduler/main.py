"""The scheduler process: taskiq's scheduler with ``LabelScheduleSource`` and fixed schedule ids.

It sends each schedule of ``adapters/queue/schedules.py`` to the data-processing queue when its
cron is due; a data-processing worker runs it. Exactly one instance schedules at a time: the
active one holds a PostgreSQL advisory lock, and a second instance stands by until the lock is
free (so running two for availability sends nothing twice).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from taskiq import TaskiqScheduler
from taskiq.cli.scheduler.run import SchedulerLoop
from taskiq.schedule_sources import LabelScheduleSource

from scaliyo.adapters.logging import configure_logging
from scaliyo.adapters.messaging.connection import connect_nats
from scaliyo.adapters.messaging.streams import ensure_streams
from scaliyo.adapters.queue.brokers import QueueBroker
from scaliyo.adapters.queue.leadership import run_as_single_instance
from scaliyo.adapters.queue.schedules import SCHEDULE_QUEUE, register_schedules
from scaliyo.adapters.settings import SYSTEM_ROLE, Settings

log = logging.getLogger("scaliyo.scheduler")

SCHEDULER_LOCK = "scaliyo.scheduler"


def run_scheduler(settings: Settings) -> None:
    """Run the scheduler until SIGTERM/SIGINT."""
    configure_logging(settings)
    asyncio.run(_main(settings))


async def _main(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await schedule_until(settings, stop)


def build_scheduler(settings: Settings) -> TaskiqScheduler:
    """The scheduler over a send-only data-processing broker holding every schedule."""
    broker = QueueBroker(SCHEDULE_QUEUE, settings, consume=False)
    broker.is_scheduler_process = True
    register_schedules(broker, None)
    return TaskiqScheduler(broker, [LabelScheduleSource(broker)])


async def schedule_until(settings: Settings, stop: asyncio.Event) -> None:
    nats = await connect_nats(settings.require_nats(), name="scaliyo-scheduler")
    try:
        await ensure_streams(nats.jetstream())
    finally:
        await nats.close()
    scheduler = build_scheduler(settings)
    lock_engine = create_async_engine(settings.role_url(SYSTEM_ROLE), poolclass=NullPool)
    await scheduler.startup()
    for source in scheduler.sources:
        await source.startup()

    async def schedule() -> None:
        # Skip the current minute: a freshly active instance must not repeat the last tick.
        await SchedulerLoop(scheduler).run(
            update_interval=timedelta(minutes=5), skip_first_run=True
        )

    try:
        log.info("scheduler started")
        await run_as_single_instance(lock_engine, SCHEDULER_LOCK, schedule, stop)
    finally:
        for source in scheduler.sources:
            await source.shutdown()
        await scheduler.shutdown()
        await lock_engine.dispose()
        log.info("scheduler stopped")
