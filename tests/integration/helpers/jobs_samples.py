"""Job types for the job tests; a worker loads them with ``--import`` of this module.

The spine ships no business job types, so these exist only for tests.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from scaliyo.application.jobs.execution import JobContext, JobError
from scaliyo.application.jobs.job_types import job_types


@job_types.register("test.count")
async def count(job: JobContext) -> dict[str, Any]:
    """Processes ``items`` items one by one, recording progress after each; resumes where the
    last recorded progress left off."""
    items = int(job.params["items"])
    delay = float(job.params.get("delay", 0.1))
    resumed_from = job.progress.processed
    done: list[int] = []
    for item in range(resumed_from, items):
        await asyncio.sleep(delay)
        done.append(item)
        await job.report_progress(item + 1, items)
    return {"resumed_from": resumed_from, "items_run": done, "attempt": job.attempt}


@job_types.register("test.flaky")
async def flaky(job: JobContext) -> dict[str, Any]:
    """Fails its first ``fail_times`` attempts, then succeeds."""
    if job.attempt <= int(job.params["fail_times"]):
        raise JobError(f"flaky failure on attempt {job.attempt}")
    return {"succeeded_on": job.attempt}


@job_types.register("test.always_fails")
async def always_fails(job: JobContext) -> dict[str, Any]:
    raise JobError("always fails")


@job_types.register("test.crash")
async def crash(job: JobContext) -> dict[str, Any]:
    """An unexpected error whose text holds something that must not reach the job row."""
    raise KeyError("password=hunter2")


@job_types.register("test.generate")
async def generate(job: JobContext) -> dict[str, Any]:
    """A short rate-limited job that spends tokens and notes when it began (wall clock)."""
    began = time.time()
    await job.add_tokens(int(job.params.get("tokens", 0)))
    await asyncio.sleep(float(job.params.get("delay", 0.1)))
    return {"began": began}
