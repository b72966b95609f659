"""Worker processes running jobs: crash recovery, redelivered messages, shutdown.

Jobs are queued the application's way (row + outbox in one transaction); the worker's outbox
relay publishes them. Short leases and ack waits come in through the settings' variables.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from nats.js.api import ConsumerInfo
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.messaging.connection import connect_nats
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.queue.messages import (
    queue_durable,
    queue_stream,
    queue_subject,
    run_job_message,
)
from scaliyo.adapters.settings import Settings
from scaliyo.domain.jobs.job import Queue
from tests.factories import insert_workspace
from tests.integration.helpers.jobs_processes import (
    Processes,
    eventually,
    finished_events,
    finished_job,
    job_row,
    queue_job,
)

pytestmark = pytest.mark.slow

FAST = {
    "SCALIYO_JOB_LEASE_SECONDS": "5",
    "SCALIYO_JOB_ACK_WAIT_SECONDS": "3",
    "SCALIYO_WORKER_SHUTDOWN_GRACE_SECONDS": "2",
}
DATA = [Queue.DATA_PROCESSING]


@pytest.fixture
def processes(settings: Settings, tmp_path) -> Iterator[Processes]:
    started = Processes(settings, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


async def progress_at_least(owner: AsyncEngine, job_id, processed: int):
    row = await job_row(owner, job_id)
    return row if row.processed >= processed and row.status == "processing" else None


async def test_a_worker_killed_mid_job_has_the_job_redelivered_resumed_and_completed_once(
    database: Database, owner_engine: AsyncEngine, processes: Processes
) -> None:
    workspace = await insert_workspace(owner_engine, "Crash")
    first = processes.worker(DATA, FAST, name="doomed")
    job_id = await queue_job(
        database,
        workspace,
        queue=Queue.DATA_PROCESSING,
        type="test.count",
        params={"items": 24, "delay": 0.15},
    )
    before_kill = await eventually(lambda: progress_at_least(owner_engine, job_id, 4), within=20)
    first.kill()
    processes.worker(DATA, FAST, name="survivor")

    row = await eventually(lambda: finished_job(owner_engine, job_id), within=25)

    assert row.status == "completed", processes.logs()
    assert row.attempts == 2
    assert row.processed == 24
    assert row.total == 24
    assert row.locked_until is None
    # Resumed from the progress recorded before the crash, not from the start.
    resumed_from = row.result["resumed_from"]
    assert before_kill.processed <= resumed_from < 24
    assert row.result["items_run"] == list(range(resumed_from, 24))
    assert row.result["attempt"] == 2
    # Its outcome was recorded once.
    assert await finished_events(owner_engine, job_id) == 1


async def test_a_running_job_is_not_run_again_when_its_message_is_redelivered(
    database: Database, owner_engine: AsyncEngine, processes: Processes, settings: Settings
) -> None:
    workspace = await insert_workspace(owner_engine, "Duplicate")
    # Two workers of two slots each, and an ack wait shorter than the job.
    processes.worker(DATA, {**FAST, "SCALIYO_JOB_ACK_WAIT_SECONDS": "2"}, name="one")
    processes.worker(DATA, {**FAST, "SCALIYO_JOB_ACK_WAIT_SECONDS": "2"}, name="two")
    job_id = await queue_job(
        database,
        workspace,
        queue=Queue.DATA_PROCESSING,
        type="test.count",
        params={"items": 20, "delay": 0.15},
    )
    await eventually(lambda: progress_at_least(owner_engine, job_id, 2), within=20)
    nats = await connect_nats(settings.require_nats(), name="test-duplicate")
    try:
        js = nats.jetstream()
        for copy in range(3):
            await js.publish(
                queue_subject(Queue.DATA_PROCESSING),
                json.dumps(run_job_message(job_id, workspace)).encode(),
                headers={"Nats-Msg-Id": f"duplicate-{job_id}-{copy}"},
            )

        row = await eventually(lambda: finished_job(owner_engine, job_id), within=25)

        assert row.status == "completed", processes.logs()
        assert row.attempts == 1
        assert row.result["resumed_from"] == 0
        assert row.result["items_run"] == list(range(20))
        assert await finished_events(owner_engine, job_id) == 1

        # The copies were settled (acked once the job had finished), not left hanging.
        async def settled() -> ConsumerInfo | None:
            info = await js.consumer_info(
                queue_stream(Queue.DATA_PROCESSING), queue_durable(Queue.DATA_PROCESSING)
            )
            return info if info.num_ack_pending == 0 and info.num_pending == 0 else None

        await eventually(settled, within=15)
    finally:
        await nats.close()
    row = await job_row(owner_engine, job_id)
    assert (row.status, row.attempts) == ("completed", 1)


async def test_sigterm_releases_a_running_job_which_another_worker_finishes_at_once(
    database: Database, owner_engine: AsyncEngine, processes: Processes
) -> None:
    workspace = await insert_workspace(owner_engine, "Shutdown")
    # Ack wait and lease far longer than the test: only the release can hand the job over.
    slow = {**FAST, "SCALIYO_JOB_ACK_WAIT_SECONDS": "600", "SCALIYO_JOB_LEASE_SECONDS": "600"}
    leaving = processes.worker(DATA, {**slow, "SCALIYO_WORKER_SHUTDOWN_GRACE_SECONDS": "0"})
    job_id = await queue_job(
        database,
        workspace,
        queue=Queue.DATA_PROCESSING,
        type="test.count",
        params={"items": 24, "delay": 0.15},
    )
    before = await eventually(lambda: progress_at_least(owner_engine, job_id, 3), within=20)
    assert leaving.stop() == 0, leaving.log()
    released = await job_row(owner_engine, job_id)
    assert released.status == "queued"
    assert released.attempts == 0  # the interrupted attempt is given back
    assert released.processed >= before.processed

    processes.worker(DATA, slow, name="successor")
    row = await eventually(lambda: finished_job(owner_engine, job_id), within=25)

    assert row.status == "completed", processes.logs()
    assert row.attempts == 1
    assert row.result["resumed_from"] == released.processed
