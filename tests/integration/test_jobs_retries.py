"""Retries with backoff, final failures and unknown job types, through a real worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.settings import Settings
from scaliyo.domain.jobs.job import Queue, retry_delay
from tests.factories import insert_workspace
from tests.integration.helpers.jobs_processes import (
    Processes,
    eventually,
    finished_events,
    finished_job,
    queue_job,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def processes(settings: Settings, tmp_path) -> Iterator[Processes]:
    started = Processes(settings, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


async def test_failed_attempts_are_retried_with_backoff_until_success_or_the_last_attempt(
    database: Database, owner_engine: AsyncEngine, processes: Processes
) -> None:
    workspace = await insert_workspace(owner_engine, "Retries")
    queue = Queue.DATA_PROCESSING
    processes.worker([queue])
    flaky = await queue_job(
        database, workspace, queue=queue, type="test.flaky", params={"fail_times": 2}
    )
    hopeless = await queue_job(
        database, workspace, queue=queue, type="test.always_fails", params={}, max_attempts=2
    )
    unknown = await queue_job(database, workspace, queue=queue, type="test.no_such_type", params={})
    crash = await queue_job(
        database, workspace, queue=queue, type="test.crash", params={}, max_attempts=1
    )

    wait = (retry_delay(1) + retry_delay(2)).total_seconds() + 15
    flaky_row = await eventually(lambda: finished_job(owner_engine, flaky), within=wait)
    hopeless_row = await eventually(lambda: finished_job(owner_engine, hopeless), within=15)
    unknown_row = await eventually(lambda: finished_job(owner_engine, unknown), within=5)
    crash_row = await eventually(lambda: finished_job(owner_engine, crash), within=5)

    assert flaky_row.status == "completed", processes.logs()
    assert flaky_row.attempts == 3
    assert flaky_row.result == {"succeeded_on": 3}
    assert flaky_row.error is None
    # Each retry waited at least its backoff after the failed attempt's start.
    assert flaky_row.started_at - flaky_row.created_at >= retry_delay(1) + retry_delay(2)

    assert hopeless_row.status == "failed"
    assert hopeless_row.attempts == 2
    assert hopeless_row.error == "always fails"
    assert hopeless_row.finished_at is not None

    assert unknown_row.status == "failed"
    assert unknown_row.attempts == 1
    assert "Unknown job type 'test.no_such_type'" in unknown_row.error

    assert crash_row.status == "failed"
    assert crash_row.error.startswith("The job failed with an internal error (KeyError)")
    assert "hunter2" not in crash_row.error
    assert "Traceback" not in crash_row.error

    for job_id in (flaky, hopeless, unknown, crash):
        assert await finished_events(owner_engine, job_id) == 1
