"""The scheduler, its schedules and the sweeper that keeps jobs from staying stuck."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.blobs.nats_object_store import NatsObjectStore
from scaliyo.adapters.ids import new_id
from scaliyo.adapters.messaging.connection import connect_nats
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.queue.brokers import QueueBroker
from scaliyo.adapters.queue.messages import RUN_JOB_TASK, queue_subject, run_job_message
from scaliyo.adapters.queue.schedules import (
    SCHEDULE_QUEUE,
    SCHEDULES,
    ScheduleResources,
    register_schedules,
)
from scaliyo.adapters.queue.sweeper import sweep_stuck_jobs
from scaliyo.adapters.settings import Settings
from scaliyo.domain.jobs.job import Queue
from scaliyo.entrypoints.scheduler.main import build_scheduler
from tests.factories import insert_workspace
from tests.integration.helpers.jobs_processes import (
    Processes,
    eventually,
    finished_job,
    mark_messages_sent,
)


@pytest.fixture
def processes(settings: Settings, tmp_path) -> Iterator[Processes]:
    started = Processes(settings, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


async def insert_job(
    owner: AsyncEngine,
    workspace_id: UUID,
    *,
    status: str,
    age: timedelta,
    type: str = "test.flaky",
    params: dict[str, Any] | None = None,
    locked_for: timedelta | None = None,
    run_after_in: timedelta | None = None,
    attempts: int = 0,
) -> UUID:
    """A job row written directly (no outbox message): what a lost message leaves behind."""
    job_id = new_id()
    async with owner.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO jobs (id, workspace_id, queue, type, status, params, attempts,"
                " locked_until, run_after, created_at, updated_at)"
                " VALUES (:id, :ws, 'data-processing', :type, :status, CAST(:params AS jsonb),"
                " :attempts, now() + CAST(:locked AS interval),"
                " now() + CAST(:run_after AS interval),"
                " now() - CAST(:age AS interval), now() - CAST(:age AS interval))"
            ),
            {
                "id": job_id,
                "ws": workspace_id,
                "type": type,
                "status": status,
                "params": json.dumps(params or {"fail_times": 0}),
                "attempts": attempts,
                "locked": locked_for,
                "run_after": run_after_in,
                "age": age,
            },
        )
    return job_id


async def add_pending_message(owner: AsyncEngine, workspace_id: UUID, job_id: UUID) -> None:
    async with owner.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO outbox (id, workspace_id, subject, aggregate_type, aggregate_id,"
                " message_type, version, payload)"
                " VALUES (:id, :ws, :subject, 'job', :job, :type, 1, CAST(:payload AS jsonb))"
            ),
            {
                "id": new_id(),
                "ws": workspace_id,
                "subject": queue_subject(Queue.DATA_PROCESSING),
                "job": job_id,
                "type": RUN_JOB_TASK,
                "payload": json.dumps(run_job_message(job_id, workspace_id)),
            },
        )


async def job_messages(owner: AsyncEngine, job_id: UUID) -> list[Any]:
    async with owner.connect() as connection:
        return (
            await connection.execute(
                text(
                    "SELECT subject, payload, sent_at FROM outbox"
                    " WHERE aggregate_id = :id AND message_type = :type"
                ),
                {"id": job_id, "type": RUN_JOB_TASK},
            )
        ).all()


async def test_schedules_have_fixed_ids_and_the_worker_registers_the_tasks_the_scheduler_sends(
    settings: Settings, database: Database
) -> None:
    expected = {
        "messaging-housekeeping": ("*/10 * * * *", "scaliyo.schedules.messaging_housekeeping"),
        "jobs-sweep": ("* * * * *", "scaliyo.schedules.sweep_jobs"),
        "billing-trial-end": ("*/5 * * * *", "scaliyo.schedules.billing_trial_end"),
        "billing-period-grants": ("*/5 * * * *", "scaliyo.schedules.billing_period_grants"),
        "credit-reservation-expiry": (
            "* * * * *",
            "scaliyo.schedules.credit_reservation_expiry",
        ),
        "usage-counter-purge": ("17 3 * * *", "scaliyo.schedules.usage_counter_purge"),
        "leads-purge": ("41 * * * *", "scaliyo.schedules.leads_purge"),
        "lead-uploads-purge": ("47 * * * *", "scaliyo.schedules.lead_uploads_purge"),
    }
    scheduler = build_scheduler(settings)
    (source,) = scheduler.sources
    for _ in range(2):  # ids survive a restart
        await source.startup()
        schedules = await source.get_schedules()
        assert {s.schedule_id: (s.cron, s.task_name) for s in schedules} == expected

    worker_broker = QueueBroker(SCHEDULE_QUEUE, settings)
    nc = await connect_nats(settings.require_nats(), name="scheduler-tests")
    try:
        blobs = NatsObjectStore(nc.jetstream())
        resources = ScheduleResources(database=database, settings=settings, blobs=blobs)
        register_schedules(worker_broker, resources)
    finally:
        await nc.close()
    assert {s.task_name for s in SCHEDULES} <= set(worker_broker.get_all_tasks())
    assert scheduler.broker.subject == worker_broker.subject == queue_subject(SCHEDULE_QUEUE)


async def test_the_sweeper_requeues_stuck_jobs_once_and_leaves_healthy_ones_alone(
    database: Database, owner_engine: AsyncEngine
) -> None:
    workspace = await insert_workspace(owner_engine, "Sweep")
    old = timedelta(hours=1)
    lost_message = await insert_job(owner_engine, workspace, status="queued", age=old)
    dead_worker = await insert_job(
        owner_engine, workspace, status="processing", age=old, locked_for=-old, attempts=1
    )
    waiting_in_outbox = await insert_job(owner_engine, workspace, status="queued", age=old)
    await add_pending_message(owner_engine, workspace, waiting_in_outbox)
    fresh = await insert_job(owner_engine, workspace, status="queued", age=timedelta(0))
    running = await insert_job(
        owner_engine, workspace, status="processing", age=old, locked_for=old, attempts=1
    )
    retry_pending = await insert_job(
        owner_engine, workspace, status="queued", age=old, run_after_in=old, attempts=1
    )
    finished = await insert_job(owner_engine, workspace, status="completed", age=old)

    try:
        swept = await sweep_stuck_jobs(
            database.system, database.app, stale_after=timedelta(minutes=10)
        )

        assert swept >= 2
        for job_id in (lost_message, dead_worker):
            (message,) = await job_messages(owner_engine, job_id)
            assert message.subject == queue_subject(Queue.DATA_PROCESSING)
            assert message.payload == run_job_message(job_id, workspace)
            assert message.sent_at is None
        assert len(await job_messages(owner_engine, waiting_in_outbox)) == 1
        for job_id in (fresh, running, retry_pending, finished):
            assert await job_messages(owner_engine, job_id) == []

        # Swept jobs were touched: the next sweep leaves them alone for another stale period.
        await sweep_stuck_jobs(database.system, database.app, stale_after=timedelta(minutes=10))
        for job_id in (lost_message, dead_worker):
            assert len(await job_messages(owner_engine, job_id)) == 1
    finally:
        await mark_messages_sent(owner_engine, workspace)


@pytest.mark.slow
async def test_scheduled_tasks_sent_by_the_scheduler_run_on_a_data_processing_worker(
    settings: Settings, owner_engine: AsyncEngine, processes: Processes
) -> None:
    workspace = await insert_workspace(owner_engine, "Scheduled")
    processes.worker([Queue.DATA_PROCESSING], {"SCALIYO_JOB_SWEEP_AFTER_SECONDS": "1"})
    stuck = await insert_job(owner_engine, workspace, status="queued", age=timedelta(minutes=5))
    async with owner_engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO rate_limit_events (bucket, at, ref)"
                " VALUES ('test:scheduled', now() - interval '3 days', 'ancient')"
            )
        )

    scheduler = build_scheduler(settings)
    (source,) = scheduler.sources
    await scheduler.startup()
    try:
        await source.startup()
        for task in await source.get_schedules():
            # What the scheduler loop does when a cron is due.
            await scheduler.on_ready(source, task)
    finally:
        await scheduler.shutdown()

    row = await eventually(lambda: finished_job(owner_engine, stuck), within=20)
    assert row.status == "completed", processes.logs()
    assert row.result == {"succeeded_on": 1}

    async def purged() -> bool | None:
        async with owner_engine.connect() as connection:
            left = await connection.scalar(
                text("SELECT count(*) FROM rate_limit_events WHERE bucket = 'test:scheduled'")
            )
        return True if left == 0 else None

    await eventually(purged, within=10)


@pytest.mark.slow
async def test_only_one_scheduler_instance_is_active_and_a_standby_takes_over(
    processes: Processes,
) -> None:
    first = processes.scheduler(name="first")
    await eventually(lambda: _logged(first, "active instance"), within=15)
    second = processes.scheduler(name="second")
    await eventually(lambda: _logged(second, "standing by"), within=15)
    assert "active instance" not in second.log()

    assert first.stop() == 0, first.log()
    await eventually(lambda: _logged(second, "active instance"), within=15)
    assert second.stop() == 0, second.log()


async def _logged(process, text_: str) -> bool | None:
    await asyncio.sleep(0)
    return True if text_ in process.log() else None
