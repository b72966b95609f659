"""The leads context's job type (``leads.bulk``: bulk actions and re-scores) for the worker.

Importing this module registers the job type; the worker process binds it to its database
at start (``bind_lead_jobs``), as job functions get nothing but their ``JobContext``. Every
chunk runs in a tenant-scoped transaction as ``scaliyo_app``.
"""

from __future__ import annotations

from typing import Any

from scaliyo.adapters.clock import SystemClock
from scaliyo.adapters.ids import UuidV7Factory
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import unit_of_work_factory
from scaliyo.application.jobs.execution import JobContext, JobError
from scaliyo.application.jobs.job_types import job_types
from scaliyo.application.leads.bulk import BULK_JOB_TYPE, run_bulk_job

_bound: dict[str, Database] = {}


def bind_lead_jobs(database: Database) -> None:
    """Let this process's lead jobs use ``database`` (the worker calls it at start)."""
    _bound["database"] = database


@job_types.register(BULK_JOB_TYPE)
async def leads_bulk(job: JobContext) -> dict[str, Any]:
    database = _bound.get("database")
    if database is None:
        raise JobError("This worker was started without a database for lead jobs.")
    return await run_bulk_job(
        job, unit_of_work_factory(database.app), SystemClock(), UuidV7Factory()
    )
