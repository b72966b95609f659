"""Job leases on the real ``jobs`` table, as ``scaliyo_app`` in the job's tenant."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.queue.leases import WORKER_LOST, SqlJobLeases
from scaliyo.application.jobs.execution import Lease, Refusal
from scaliyo.domain.jobs.job import Progress, Queue
from scaliyo.domain.shared.ids import JobId, WorkspaceId
from tests.factories import insert_workspace
from tests.integration.helpers.jobs_processes import (
    finished_events,
    job_row,
    mark_messages_sent,
    queue_job,
)

LEASE_SECONDS = 30


async def lapse_lease(owner: AsyncEngine, job_id) -> None:
    async with owner.begin() as connection:
        await connection.execute(
            text("UPDATE jobs SET locked_until = now() - interval '1 second' WHERE id = :id"),
            {"id": job_id},
        )


async def new_job(database: Database, owner: AsyncEngine, **options) -> tuple[JobId, WorkspaceId]:
    workspace = WorkspaceId(await insert_workspace(owner, "Leases"))
    job_id = await queue_job(
        database,
        workspace,
        queue=Queue.DATA_PROCESSING,
        type="test.lease",
        params={"n": 1},
        **options,
    )
    await mark_messages_sent(owner, workspace)  # these tests take leases themselves
    return job_id, workspace


async def test_one_lease_at_a_time_and_a_busy_job_is_asked_back_after_the_lease(
    database: Database, owner_engine: AsyncEngine
) -> None:
    leases = SqlJobLeases(database.app, lease_seconds=LEASE_SECONDS)
    job_id, workspace = await new_job(database, owner_engine)

    lease = await leases.take(job_id, workspace)
    again = await leases.take(job_id, workspace)

    assert isinstance(lease, Lease)
    assert (lease.attempt, lease.type, lease.params, lease.progress) == (
        1,
        "test.lease",
        {"n": 1},
        Progress(),
    )
    assert isinstance(again, Refusal)
    assert again.reason == "running elsewhere"
    assert LEASE_SECONDS - 5 < again.retry_in <= LEASE_SECONDS + 1
    row = await job_row(owner_engine, job_id)
    assert (row.status, row.attempts) == ("processing", 1)
    assert row.locked_until > row.started_at


async def test_a_lapsed_lease_is_taken_over_and_the_old_holder_can_write_nothing(
    database: Database, owner_engine: AsyncEngine
) -> None:
    leases = SqlJobLeases(database.app, lease_seconds=LEASE_SECONDS)
    job_id, workspace = await new_job(database, owner_engine)
    old = await leases.take(job_id, workspace)
    assert isinstance(old, Lease)
    assert await leases.record_progress(old, Progress(processed=3, total=10))
    await lapse_lease(owner_engine, job_id)

    new = await leases.take(job_id, workspace)

    assert isinstance(new, Lease)
    assert new.attempt == 2
    assert new.progress == Progress(processed=3, total=10)  # resumes where the old one was
    assert not await leases.renew(old)
    assert not await leases.record_progress(old, Progress(processed=9, total=10))
    assert not await leases.add_tokens(old, 5)
    assert not await leases.complete(old, {"by": "old"})
    assert not await leases.fail(old, "old failure")
    assert await leases.add_tokens(new, 5)
    assert await leases.complete(new, {"by": "new"})
    row = await job_row(owner_engine, job_id)
    assert (row.status, row.result, row.tokens, row.processed) == (
        "completed",
        {"by": "new"},
        5,
        3,
    )
    assert row.locked_until is None and row.finished_at is not None
    assert await finished_events(owner_engine, job_id) == 1
    assert await leases.take(job_id, workspace) == Refusal("finished")


async def test_a_requeued_job_waits_for_its_backoff(
    database: Database, owner_engine: AsyncEngine
) -> None:
    leases = SqlJobLeases(database.app, lease_seconds=LEASE_SECONDS)
    job_id, workspace = await new_job(database, owner_engine)
    lease = await leases.take(job_id, workspace)
    assert isinstance(lease, Lease)

    assert await leases.retry_later(lease, "try again", timedelta(seconds=20))
    refusal = await leases.take(job_id, workspace)

    assert isinstance(refusal, Refusal) and refusal.reason == "not due yet"
    assert 15 < refusal.retry_in <= 20
    peeked = await leases.peek(job_id, workspace)
    assert peeked is not None and peeked.reason == "not due yet"
    row = await job_row(owner_engine, job_id)
    assert (row.status, row.error, row.attempts, row.locked_until) == (
        "queued",
        "try again",
        1,
        None,
    )


async def test_a_job_whose_last_attempt_died_fails_instead_of_running_again(
    database: Database, owner_engine: AsyncEngine
) -> None:
    leases = SqlJobLeases(database.app, lease_seconds=LEASE_SECONDS)
    job_id, workspace = await new_job(database, owner_engine, max_attempts=1)
    assert isinstance(await leases.take(job_id, workspace), Lease)
    await lapse_lease(owner_engine, job_id)

    refusal = await leases.take(job_id, workspace)

    assert refusal == Refusal("out of attempts")
    row = await job_row(owner_engine, job_id)
    assert (row.status, row.error, row.attempts) == ("failed", WORKER_LOST, 1)
    assert await finished_events(owner_engine, job_id) == 1


async def test_a_message_naming_another_workspace_finds_no_job(
    database: Database, owner_engine: AsyncEngine
) -> None:
    leases = SqlJobLeases(database.app, lease_seconds=LEASE_SECONDS)
    job_id, _ = await new_job(database, owner_engine)
    stranger = WorkspaceId(await insert_workspace(owner_engine, "Stranger"))

    assert await leases.take(job_id, stranger) == Refusal("no such job")
    assert await leases.take(JobId(new_id()), stranger) == Refusal("no such job")
    assert (await job_row(owner_engine, job_id)).status == "queued"
