"""The taskiq task every job message names (``scaliyo.run_job``), bound to a job runner."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from uuid import UUID

from scaliyo.adapters.queue.brokers import QueueBroker, current_delivery
from scaliyo.adapters.queue.messages import RUN_JOB_TASK
from scaliyo.application.jobs.execution import Settlement
from scaliyo.application.jobs.runner import JobRunner
from scaliyo.domain.shared.ids import JobId, WorkspaceId

log = logging.getLogger("scaliyo.jobs")

# A message whose handling broke (the database was unreachable, say) comes back after this.
ERROR_REDELIVERY_SECONDS = 5.0


def job_task(runner: JobRunner) -> Callable[[str, str], Awaitable[None]]:
    async def run_job(job_id: str, workspace_id: str) -> None:
        # A malformed id raises here: taskiq logs it and the message is dropped (acked).
        job, workspace = JobId(UUID(job_id)), WorkspaceId(UUID(workspace_id))
        delivery = current_delivery.get()
        try:
            settlement = await runner.run(
                job, workspace, keep_alive=delivery.keep_alive if delivery else None
            )
        except asyncio.CancelledError:
            # taskiq still settles the message after a cancelled task: make that a redelivery.
            if delivery is not None:
                delivery.redeliver_in = 0
            raise
        except Exception:
            log.exception("job message not handled; it comes back later", extra={"job_id": job_id})
            settlement = Settlement(redeliver_in=ERROR_REDELIVERY_SECONDS)
        if delivery is not None:
            delivery.redeliver_in = settlement.redeliver_in

    return run_job


def register_job_task(broker: QueueBroker, runner: JobRunner) -> None:
    broker.register_task(job_task(runner), task_name=RUN_JOB_TASK)
