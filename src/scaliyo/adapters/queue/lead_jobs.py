"""The leads context's job types for the worker: ``leads.bulk`` (bulk actions and re-scores)
and ``bulk_import`` (CSV imports).

Importing this module registers the job types; the worker process binds them to its database
and blob storage at start (``bind_lead_jobs``), as job functions get nothing but their
``JobContext``. Every chunk runs in a tenant-scoped transaction as ``scaliyo_app``; a job that
wrote many leads (an import, a bulk action, a re-score) then has the lead tables vacuumed and
analyzed (as ``scaliyo_system``).
"""

from __future__ import annotations

import logging
from typing import Any

from scaliyo.adapters.clock import SystemClock
from scaliyo.adapters.ids import UuidV7Factory
from scaliyo.adapters.imports.row_workers import InlinePreparer, ProcessPoolPreparer
from scaliyo.adapters.imports.upload_rows import BlobUploadReader
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.table_statistics import VACUUM_AFTER_ROWS, vacuum_lead_tables
from scaliyo.adapters.persistence.unit_of_work import unit_of_work_factory
from scaliyo.application.jobs.execution import JobContext, JobError
from scaliyo.application.jobs.job_types import job_types
from scaliyo.application.leads.bulk import BULK_JOB_TYPE, run_bulk_job
from scaliyo.application.leads.import_job import IMPORT_JOB_TYPE, run_import_job
from scaliyo.application.shared.blobs import BlobStorage

log = logging.getLogger("scaliyo.leads.jobs")
_bound: dict[str, Any] = {}


def bind_lead_jobs(
    database: Database,
    blobs: BlobStorage | None = None,
    *,
    import_workers: int | None = 0,
    warm: bool = False,
) -> None:
    """Let this process's lead jobs use ``database`` and ``blobs`` (the worker calls it at
    start). ``import_workers``: processes preparing import rows, one pool for every import of
    this process (0: one per CPU but one; None: none, rows are prepared in this process); ``warm``
    starts them now. A preparer bound before is closed."""
    previous = _bound.get("preparer")
    preparer: InlinePreparer | ProcessPoolPreparer = (
        InlinePreparer() if import_workers is None else ProcessPoolPreparer(import_workers)
    )
    _bound.update(database=database, blobs=blobs, preparer=preparer)
    if warm and isinstance(preparer, ProcessPoolPreparer):
        preparer.start()
    if isinstance(previous, ProcessPoolPreparer):
        previous.shutdown()


async def lead_jobs_started() -> None:
    """Return once the import pool that ``bind_lead_jobs(warm=True)`` started is ready."""
    preparer = _bound.get("preparer")
    if isinstance(preparer, ProcessPoolPreparer):
        await preparer.started()


def unbind_lead_jobs() -> None:
    """End what ``bind_lead_jobs`` started (the import pool's processes)."""
    preparer = _bound.pop("preparer", None)
    if isinstance(preparer, ProcessPoolPreparer):
        preparer.shutdown()


def _database() -> Database:
    database = _bound.get("database")
    if database is None:
        raise JobError("This worker was started without a database for lead jobs.")
    return database


@job_types.register(BULK_JOB_TYPE)
async def leads_bulk(job: JobContext) -> dict[str, Any]:
    database = _database()
    result = await run_bulk_job(
        job, unit_of_work_factory(database.app), SystemClock(), UuidV7Factory()
    )
    await _refresh_statistics(database, job, written=result.get("affected", 0))
    return result


@job_types.register(IMPORT_JOB_TYPE)
async def bulk_import(job: JobContext) -> dict[str, Any]:
    database = _database()
    blobs = _bound.get("blobs")
    if blobs is None:
        raise JobError("This worker was started without blob storage for imports.")
    result = await run_import_job(
        job,
        unit_of_work_factory(database.app),
        SystemClock(),
        UuidV7Factory(),
        BlobUploadReader(blobs),
        _bound.get("preparer") or InlinePreparer(),
    )
    await _refresh_statistics(
        database, job, written=result.get("created", 0) + result.get("updated", 0)
    )
    return result


async def _refresh_statistics(database: Database, job: JobContext, *, written: int) -> None:
    """After ``VACUUM_AFTER_ROWS`` leads or more were written (created, changed, deleted or
    restored), vacuum and analyze the lead tables, so that the workspace's next lists and
    searches are planned for what it holds now. The job's work is done either way: a failed
    vacuum is logged (autovacuum remains), not the job's failure."""
    if written < VACUUM_AFTER_ROWS:
        return
    try:
        await vacuum_lead_tables(database)
    except Exception:
        log.exception("vacuum after a lead job failed", extra={"job_id": str(job.job_id)})
