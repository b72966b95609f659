"""Every cron schedule, in one place: ``SCHEDULES``.

The scheduler process sends each schedule's task, by name, to the data-processing queue; a worker
of that queue runs it. Both register the same tasks from this list on their data-processing
broker (the scheduler's broker reads the ``schedule`` labels through ``LabelScheduleSource``), so
names and schedule ids never drift apart. A module adds a schedule by adding one
``Schedule(schedule_id, cron, task_name, run)`` below; ``schedule_id`` is fixed for good.

Scheduled work is idempotent: a tick that runs twice (a failover between two scheduler
instances, a redelivered message) does no harm, and a missed tick is made up by the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from scaliyo.adapters.clock import SystemClock
from scaliyo.adapters.messaging.housekeeping import purge_outbox_and_inbox
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.idempotency_store import purge_idempotency_keys
from scaliyo.adapters.queue.billing_schedules import (
    end_due_trials,
    expire_reservations,
    grant_due_periods,
    purge_usage_counters,
)
from scaliyo.adapters.queue.brokers import QueueBroker
from scaliyo.adapters.queue.lead_schedules import purge_deleted_leads, purge_expired_uploads
from scaliyo.adapters.queue.rate_limit import purge_rate_limit_events
from scaliyo.adapters.queue.sweeper import sweep_stuck_jobs
from scaliyo.adapters.settings import Settings
from scaliyo.application.shared.blobs import BlobStorage
from scaliyo.domain.jobs.job import Queue

log = logging.getLogger("scaliyo.schedules")

# Scheduled tasks run on this queue's workers.
SCHEDULE_QUEUE = Queue.DATA_PROCESSING
# Rate-limit starts are only ever counted within a window; a day is far past any window.
RATE_LIMIT_EVENTS_RETENTION = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ScheduleResources:
    """What scheduled work may use, built once by the worker process."""

    database: Database
    settings: Settings
    blobs: BlobStorage


ScheduledWork = Callable[[ScheduleResources], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Schedule:
    schedule_id: str
    cron: str
    task_name: str
    run: ScheduledWork


async def messaging_housekeeping(resources: ScheduleResources) -> None:
    """Sent outbox rows, old inbox rows, old rate-limit starts and Idempotency-Key records past
    their 24 hours are deleted."""
    system = resources.database.system
    deleted = await purge_outbox_and_inbox(system)
    deleted["rate_limit_events"] = await purge_rate_limit_events(
        system, older_than=RATE_LIMIT_EVENTS_RETENTION
    )
    deleted["idempotency_keys"] = await purge_idempotency_keys(system, SystemClock().now())
    log.info("housekeeping done", extra={"deleted": deleted})


async def sweep_jobs(resources: ScheduleResources) -> None:
    """Jobs stuck without a message or with a long-lapsed lease are queued again."""
    await sweep_stuck_jobs(
        resources.database.system,
        resources.database.app,
        stale_after=timedelta(seconds=resources.settings.job_sweep_after_seconds),
    )


async def billing_trial_end(resources: ScheduleResources) -> None:
    """Trials that ran out unpaid end: AI work and sending stop (``trial_ended``)."""
    await end_due_trials(resources.database, SystemClock())


async def billing_period_grants(resources: ScheduleResources) -> None:
    """Credit periods of trials, annual plans and operator-run plans are granted, once."""
    await grant_due_periods(resources.database, SystemClock())


async def credit_reservation_expiry(resources: ScheduleResources) -> None:
    """Open credit reservations past their expiry (a crashed worker) are released."""
    await expire_reservations(resources.database, SystemClock())


async def usage_counter_purge(resources: ScheduleResources) -> None:
    """Counters roll over by period key; old day and month counters are deleted."""
    await purge_usage_counters(resources.database, SystemClock())


async def leads_purge(resources: ScheduleResources) -> None:
    """Leads soft-deleted 30 days ago or more are deleted for good."""
    await purge_deleted_leads(resources.database, SystemClock())


async def lead_uploads_purge(resources: ScheduleResources) -> None:
    """Uploaded import files older than ``SCALIYO_IMPORT_UPLOAD_RETENTION_HOURS`` are deleted
    from blob storage (uploads never imported entirely)."""
    await purge_expired_uploads(
        resources.database,
        resources.blobs,
        SystemClock(),
        retention=timedelta(hours=resources.settings.import_upload_retention_hours),
    )


SCHEDULES: tuple[Schedule, ...] = (
    Schedule(
        "messaging-housekeeping",
        "*/10 * * * *",
        "scaliyo.schedules.messaging_housekeeping",
        messaging_housekeeping,
    ),
    Schedule("jobs-sweep", "* * * * *", "scaliyo.schedules.sweep_jobs", sweep_jobs),
    Schedule(
        "billing-trial-end", "*/5 * * * *", "scaliyo.schedules.billing_trial_end", billing_trial_end
    ),
    Schedule(
        "billing-period-grants",
        "*/5 * * * *",
        "scaliyo.schedules.billing_period_grants",
        billing_period_grants,
    ),
    Schedule(
        "credit-reservation-expiry",
        "* * * * *",
        "scaliyo.schedules.credit_reservation_expiry",
        credit_reservation_expiry,
    ),
    Schedule(
        "usage-counter-purge",
        "17 3 * * *",
        "scaliyo.schedules.usage_counter_purge",
        usage_counter_purge,
    ),
    Schedule("leads-purge", "41 * * * *", "scaliyo.schedules.leads_purge", leads_purge),
    Schedule(
        "lead-uploads-purge",
        "47 * * * *",
        "scaliyo.schedules.lead_uploads_purge",
        lead_uploads_purge,
    ),
)


def _task(schedule: Schedule, resources: ScheduleResources | None) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        if resources is None:
            raise RuntimeError(f"{schedule.task_name} runs on a worker, not here")
        await schedule.run(resources)

    run.__name__ = schedule.schedule_id.replace("-", "_")
    return run


def register_schedules(broker: QueueBroker, resources: ScheduleResources | None) -> None:
    """Register every scheduled task on ``broker`` (the scheduler passes no resources)."""
    if broker.queue is not SCHEDULE_QUEUE:
        raise ValueError(f"scheduled tasks run on {SCHEDULE_QUEUE.value}, not {broker.queue}")
    for schedule in SCHEDULES:
        broker.register_task(
            _task(schedule, resources),
            task_name=schedule.task_name,
            schedule=[{"cron": schedule.cron, "schedule_id": schedule.schedule_id}],
        )
