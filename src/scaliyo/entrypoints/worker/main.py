"""The worker process: the jobs of its queues, the outbox relay and the event consumers.

One taskiq receiver per queue runs inside this one asyncio process (no taskiq CLI), with the
queue's concurrency (ai-generation 3, data-processing 2). The data-processing worker also runs
the scheduled tasks (see ``adapters/queue/schedules.py``). SIGTERM or SIGINT stops it cleanly:
no new message is taken, running jobs get ``SCALIYO_WORKER_SHUTDOWN_GRACE_SECONDS`` to finish,
and the rest give their attempt back and are redelivered at once to another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from collections.abc import Iterable
from dataclasses import dataclass

from scaliyo.adapters.blobs.nats_object_store import NatsObjectStore
from scaliyo.adapters.logging import configure_logging
from scaliyo.adapters.messaging.connection import connect_nats
from scaliyo.adapters.messaging.consumer import run_consumers
from scaliyo.adapters.messaging.registry import build_consumers
from scaliyo.adapters.messaging.relay import OutboxRelay
from scaliyo.adapters.messaging.streams import ensure_streams
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.process_lifetime import settle_startup_objects
from scaliyo.adapters.queue.brokers import QueueBroker, queue_receiver
from scaliyo.adapters.queue.lead_jobs import bind_lead_jobs, unbind_lead_jobs
from scaliyo.adapters.queue.leases import SqlJobLeases
from scaliyo.adapters.queue.rate_limit import PostgresStartLimiter
from scaliyo.adapters.queue.schedules import SCHEDULE_QUEUE, ScheduleResources, register_schedules
from scaliyo.adapters.queue.tasks import register_job_task
from scaliyo.adapters.settings import Settings
from scaliyo.application.jobs.execution import StartLimiter
from scaliyo.application.jobs.job_types import job_types
from scaliyo.application.jobs.runner import JobRunner
from scaliyo.application.shared.blobs import BlobStorage
from scaliyo.domain.jobs.job import Queue

log = logging.getLogger("scaliyo.worker")


def run_worker(settings: Settings, queues: Iterable[str] = (), imports: Iterable[str] = ()) -> None:
    """Run a worker until SIGTERM/SIGINT. ``queues``: names (default all); ``imports``: modules
    to import first (they register job types and consumers)."""
    configure_logging(settings)
    for module in imports:
        importlib.import_module(module)
    selected = [Queue(name) for name in queues] or list(Queue)
    crashed = asyncio.run(_main(settings, selected))
    if crashed:
        raise SystemExit(1)


async def _main(settings: Settings, queues: list[Queue]) -> bool:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return await Worker(settings, queues).run(stop)


def start_limiter(queue: Queue, settings: Settings, database: Database) -> StartLimiter | None:
    """The cross-process start limit of ``queue``, if it has one."""
    if queue is Queue.AI_GENERATION:
        return PostgresStartLimiter(
            database.system,
            bucket=f"jobs:{queue.value}",
            limit=settings.ai_rate_limit,
            window_seconds=settings.ai_rate_window_seconds,
        )
    return None


@dataclass
class _Lane:
    """One queue's broker, runner and receiver in this process."""

    queue: Queue
    broker: QueueBroker
    runner: JobRunner
    finish: asyncio.Event
    task: asyncio.Task[None] | None = None


class Worker:
    def __init__(self, settings: Settings, queues: list[Queue]) -> None:
        self.settings = settings
        self.queues = queues

    async def run(self, stop: asyncio.Event) -> bool:
        """Work until ``stop`` is set; True when a part of the worker crashed."""
        settings = self.settings
        database = Database.connect(settings)
        nats = await connect_nats(settings.require_nats(), name="scaliyo-worker")
        lanes: list[_Lane] = []
        crashed = False
        try:
            js = nats.jetstream()
            blobs = NatsObjectStore(js)
            # job functions of the leads context use them
            bind_lead_jobs(
                database,
                blobs,
                import_workers=settings.import_workers,
                warm=Queue.DATA_PROCESSING in self.queues,
            )
            await ensure_streams(js)
            leases = SqlJobLeases(database.app, lease_seconds=settings.job_lease_seconds)
            # Renew well within the lease, and keep the message alive well within its ack wait.
            renew_every = min(settings.job_lease_seconds, settings.job_ack_wait_seconds) / 3
            for queue in self.queues:
                lanes.append(await self._start_lane(queue, database, blobs, leases, renew_every))
            relay = OutboxRelay(
                database.system,
                js,
                batch_size=settings.relay_batch_size,
                max_pending=settings.relay_max_pending,
                max_payload=nats.max_payload,
            )
            background = [asyncio.create_task(relay.run(stop), name="outbox-relay")]
            consumers = list(build_consumers())
            if consumers:
                background.append(
                    asyncio.create_task(
                        run_consumers(consumers, database, js, stop), name="consumers"
                    )
                )
            settle_startup_objects()
            log.info("worker ready", extra={"queues": [queue.value for queue in self.queues]})
            crashed = await _until_stopped(
                stop, [lane.task for lane in lanes if lane.task], background
            )
            stop.set()
            await self._drain(lanes)
            await asyncio.gather(*background, return_exceptions=True)
        finally:
            unbind_lead_jobs()
            for lane in lanes:
                with contextlib.suppress(Exception):
                    await lane.broker.shutdown()
            with contextlib.suppress(Exception):
                await nats.close()
            await database.dispose()
        log.info("worker stopped")
        return crashed

    async def _start_lane(
        self,
        queue: Queue,
        database: Database,
        blobs: BlobStorage,
        leases: SqlJobLeases,
        renew_every: float,
    ) -> _Lane:
        runner = JobRunner(
            leases,
            job_types,
            renew_every=renew_every,
            limiter=start_limiter(queue, self.settings, database),
        )
        broker = QueueBroker(queue, self.settings)
        broker.is_worker_process = True
        register_job_task(broker, runner)
        if queue is SCHEDULE_QUEUE:
            resources = ScheduleResources(database=database, settings=self.settings, blobs=blobs)
            register_schedules(broker, resources)
        await broker.startup()
        lane = _Lane(queue=queue, broker=broker, runner=runner, finish=asyncio.Event())
        receiver = queue_receiver(broker)
        lane.task = asyncio.create_task(receiver.listen(lane.finish), name=f"jobs-{queue.value}")
        return lane

    async def _drain(self, lanes: list[_Lane]) -> None:
        """Take no new message; let running jobs finish within the grace; release the rest."""
        for lane in lanes:
            lane.finish.set()
        # Messages handed back must not land in this worker's own last pull requests.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(lane.broker.listening_stopped.wait() for lane in lanes)), 10
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(lane.runner.wait_idle() for lane in lanes)),
                self.settings.worker_shutdown_grace_seconds,
            )
        interrupted = sum(lane.runner.interrupt() for lane in lanes)
        if interrupted:
            log.warning("released running jobs at shutdown", extra={"count": interrupted})
        tasks = [lane.task for lane in lanes if lane.task is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=30)
            for task in pending:
                task.cancel()


async def _until_stopped(
    stop: asyncio.Event, receivers: list[asyncio.Task[None]], background: list[asyncio.Task]
) -> bool:
    """Wait for ``stop``; a receiver or background task that ends first is a crash."""
    stopper = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait(
            {stopper, *receivers, *background}, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopper.cancel()
    crashed = [task for task in done if task is not stopper]
    for task in crashed:
        if task.cancelled() or task.exception() is None:
            log.error("worker part ended early", extra={"part": task.get_name()})
        else:
            log.error(
                "worker part crashed",
                extra={"part": task.get_name()},
                exc_info=task.exception(),
            )
    return bool(crashed)
