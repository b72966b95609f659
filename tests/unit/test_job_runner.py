"""The job runner's rules, driven with in-memory leases (no I/O)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from scaliyo.application.jobs.execution import (
    JobContext,
    JobError,
    Lease,
    LeaseLost,
    Refusal,
)
from scaliyo.application.jobs.job_types import DuplicateJobType, JobTypes
from scaliyo.application.jobs.runner import JobRunner
from scaliyo.application.shared.blobs import BlobStorageUnavailable
from scaliyo.domain.jobs.job import Progress, retry_delay
from scaliyo.domain.shared.errors import Conflict
from scaliyo.domain.shared.ids import JobId, WorkspaceId


@dataclass
class Row:
    type: str
    params: dict[str, Any]
    status: str = "queued"
    attempts: int = 0
    max_attempts: int = 5
    progress: Progress = field(default_factory=Progress)
    tokens: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    retry_in: timedelta | None = None
    renewals: int = 0


class FakeLeases:
    """Job rows in memory, with the lease rules of the SQL adapter (fenced by attempt)."""

    def __init__(self) -> None:
        self.rows: dict[JobId, Row] = {}
        self.refusal: Refusal | None = None
        self.renew_ok = True

    def add(self, type: str, params: dict[str, Any] | None = None, **fields: Any) -> JobId:
        job_id = JobId(uuid4())
        self.rows[job_id] = Row(type=type, params=params or {}, **fields)
        return job_id

    async def peek(self, job_id: JobId, workspace_id: WorkspaceId) -> Refusal | None:
        return self.refusal

    async def take(self, job_id: JobId, workspace_id: WorkspaceId) -> Lease | Refusal:
        row = self.rows[job_id]
        if self.refusal is not None:
            return self.refusal
        if row.status != "queued":
            return Refusal("finished")
        row.status, row.attempts = "processing", row.attempts + 1
        return Lease(
            job_id=job_id,
            workspace_id=workspace_id,
            type=row.type,
            params=row.params,
            progress=row.progress,
            attempt=row.attempts,
            max_attempts=row.max_attempts,
        )

    def _held(self, lease: Lease) -> Row | None:
        row = self.rows[lease.job_id]
        return row if row.status == "processing" and row.attempts == lease.attempt else None

    async def renew(self, lease: Lease) -> bool:
        row = self._held(lease)
        if row is None or not self.renew_ok:
            return False
        row.renewals += 1
        return True

    async def record_progress(self, lease: Lease, progress: Progress) -> bool:
        row = self._held(lease)
        if row is None:
            return False
        row.progress = progress
        return True

    async def add_tokens(self, lease: Lease, tokens: int) -> bool:
        row = self._held(lease)
        if row is None:
            return False
        row.tokens += tokens
        return True

    async def complete(self, lease: Lease, result: dict[str, Any] | None) -> bool:
        row = self._held(lease)
        if row is None:
            return False
        row.status, row.result = "completed", result
        return True

    async def retry_later(self, lease: Lease, error: str, delay: timedelta) -> bool:
        row = self._held(lease)
        if row is None:
            return False
        row.status, row.error, row.retry_in = "queued", error, delay
        return True

    async def fail(self, lease: Lease, error: str) -> bool:
        row = self._held(lease)
        if row is None:
            return False
        row.status, row.error = "failed", error
        return True

    async def release(self, lease: Lease) -> bool:
        row = self._held(lease)
        if row is None:
            return False
        row.status, row.attempts = "queued", row.attempts - 1
        return True


class RecordingLimiter:
    def __init__(self) -> None:
        self.refs: list[str] = []

    async def acquire(self, ref: str) -> None:
        self.refs.append(ref)


WORKSPACE = WorkspaceId(uuid4())


def runner_with(
    types: JobTypes, leases: FakeLeases, limiter: RecordingLimiter | None = None
) -> JobRunner:
    return JobRunner(leases, types, renew_every=0.01, limiter=limiter)


async def test_a_successful_job_completes_with_its_result_and_its_message_is_acked():
    types, leases = JobTypes(), FakeLeases()

    @types.register("ok")
    async def ok(job: JobContext) -> dict[str, Any]:
        await job.report_progress(3, 3)
        await job.add_tokens(40)
        return {"echo": job.params["x"], "attempt": job.attempt}

    job_id = leases.add("ok", {"x": 1})
    settlement = await runner_with(types, leases).run(job_id, WORKSPACE)

    row = leases.rows[job_id]
    assert settlement.ack
    assert (row.status, row.result, row.attempts) == ("completed", {"echo": 1, "attempt": 1}, 1)
    assert (row.progress, row.tokens) == (Progress(processed=3, total=3), 40)


@pytest.mark.parametrize(
    "failure", [JobError("provider busy"), BlobStorageUnavailable("provider busy")]
)
async def test_a_failed_attempt_with_attempts_left_is_requeued_after_its_backoff(
    failure: Exception,
):
    """A ``JobError`` left retryable, or a business error saying that something is
    unavailable for now."""
    types, leases = JobTypes(), FakeLeases()

    @types.register("flaky")
    async def flaky(job: JobContext) -> None:
        raise failure

    job_id = leases.add("flaky", attempts=1)
    settlement = await runner_with(types, leases).run(job_id, WORKSPACE)

    row = leases.rows[job_id]
    assert (row.status, row.error, row.attempts) == ("queued", "provider busy", 2)
    assert row.retry_in == retry_delay(2)
    assert settlement.redeliver_in == retry_delay(2).total_seconds()


async def test_the_last_attempt_failing_fails_the_job_with_its_message():
    types, leases = JobTypes(), FakeLeases()

    @types.register("hopeless")
    async def hopeless(job: JobContext) -> None:
        raise JobError("no luck")

    job_id = leases.add("hopeless", attempts=4, max_attempts=5)
    settlement = await runner_with(types, leases).run(job_id, WORKSPACE)

    assert settlement.ack
    assert (leases.rows[job_id].status, leases.rows[job_id].error) == ("failed", "no luck")


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (JobError("bad input", retryable=False), "bad input"),
        (Conflict("already sent"), "already sent"),
    ],
)
async def test_permanent_failures_fail_at_once(failure: Exception, error: str):
    types, leases = JobTypes(), FakeLeases()

    @types.register("permanent")
    async def permanent(job: JobContext) -> None:
        raise failure

    job_id = leases.add("permanent")
    await runner_with(types, leases).run(job_id, WORKSPACE)

    assert (leases.rows[job_id].status, leases.rows[job_id].error) == ("failed", error)
    assert leases.rows[job_id].attempts == 1


async def test_an_unexpected_error_shows_only_its_kind_never_its_text():
    types, leases = JobTypes(), FakeLeases()

    @types.register("crash")
    async def crash(job: JobContext) -> None:
        raise RuntimeError("token=sk_live_secret")

    job_id = leases.add("crash", max_attempts=1)
    await runner_with(types, leases).run(job_id, WORKSPACE)

    row = leases.rows[job_id]
    assert row.status == "failed"
    assert "RuntimeError" in row.error
    assert "sk_live_secret" not in row.error


async def test_a_result_that_is_not_a_json_object_fails_the_job():
    types, leases = JobTypes(), FakeLeases()

    @types.register("odd")
    async def odd(job: JobContext) -> Any:
        return {"when": object()}

    job_id = leases.add("odd")
    await runner_with(types, leases).run(job_id, WORKSPACE)

    assert leases.rows[job_id].status == "failed"
    assert leases.rows[job_id].error == "The job's result is not a JSON object."


async def test_an_unknown_type_fails_with_a_clear_error():
    leases = FakeLeases()
    job_id = leases.add("nobody.knows")

    settlement = await runner_with(JobTypes(), leases).run(job_id, WORKSPACE)

    assert settlement.ack
    assert leases.rows[job_id].status == "failed"
    assert leases.rows[job_id].error.startswith("Unknown job type 'nobody.knows'")


async def test_a_job_that_cannot_be_taken_is_not_run_and_its_message_comes_back_as_asked():
    types, leases = JobTypes(), FakeLeases()
    ran: list[JobId] = []

    @types.register("busy")
    async def busy(job: JobContext) -> None:
        ran.append(job.job_id)

    job_id = leases.add("busy", status="processing", attempts=1)
    leases.refusal = Refusal("running elsewhere", retry_in=3.5)

    settlement = await runner_with(types, leases).run(job_id, WORKSPACE)

    assert settlement.redeliver_in == 3.5
    assert ran == []
    assert leases.rows[job_id].attempts == 1


async def test_a_rate_limited_queue_records_a_start_only_for_a_runnable_job():
    types, leases, limiter = JobTypes(), FakeLeases(), RecordingLimiter()

    @types.register("gen")
    async def gen(job: JobContext) -> None:
        return None

    runnable = leases.add("gen")
    await runner_with(types, leases, limiter).run(runnable, WORKSPACE)
    leases.refusal = Refusal("finished")
    await runner_with(types, leases, limiter).run(leases.add("gen"), WORKSPACE)

    assert limiter.refs == [str(runnable)]
    assert leases.rows[runnable].status == "completed"


async def test_a_lost_lease_stops_the_job_and_nothing_more_is_written():
    types, leases = JobTypes(), FakeLeases()
    reached_end: list[bool] = []

    @types.register("long")
    async def long(job: JobContext) -> dict[str, Any]:
        await asyncio.sleep(5)
        reached_end.append(True)
        return {"done": True}

    job_id = leases.add("long")
    leases.renew_ok = False

    settlement = await asyncio.wait_for(runner_with(types, leases).run(job_id, WORKSPACE), 2)

    assert settlement.ack
    assert reached_end == []
    assert leases.rows[job_id].status == "processing"  # the new holder's business now
    assert leases.rows[job_id].result is None


async def test_progress_after_a_takeover_raises_lease_lost_and_writes_nothing():
    types, leases = JobTypes(), FakeLeases()
    seen: list[type[BaseException]] = []

    @types.register("taken")
    async def taken(job: JobContext) -> dict[str, Any]:
        leases.rows[job.job_id].attempts += 1  # another worker took it over
        try:
            await job.report_progress(1, 2)
        except LeaseLost as error:
            seen.append(type(error))
        return {"ignored": True}

    job_id = leases.add("taken")
    settlement = await runner_with(types, leases).run(job_id, WORKSPACE)

    assert settlement.ack
    assert seen == [LeaseLost]
    assert leases.rows[job_id].result is None
    assert leases.rows[job_id].progress == Progress()


async def test_the_lease_is_renewed_and_the_message_kept_alive_while_the_job_runs():
    types, leases = JobTypes(), FakeLeases()
    keep_alive_calls: list[int] = []

    @types.register("steady")
    async def steady(job: JobContext) -> None:
        await asyncio.sleep(0.1)

    async def keep_alive() -> None:
        keep_alive_calls.append(1)

    job_id = leases.add("steady")
    await runner_with(types, leases).run(job_id, WORKSPACE, keep_alive=keep_alive)

    assert leases.rows[job_id].renewals >= 3
    assert len(keep_alive_calls) == leases.rows[job_id].renewals


async def test_an_interrupted_job_gives_its_attempt_back_and_is_redelivered_at_once():
    types, leases = JobTypes(), FakeLeases()
    started = asyncio.Event()

    @types.register("endless")
    async def endless(job: JobContext) -> None:
        started.set()
        await asyncio.sleep(60)

    job_id = leases.add("endless")
    runner = runner_with(types, leases)
    run = asyncio.create_task(runner.run(job_id, WORKSPACE))
    await started.wait()

    assert runner.running == 1
    assert runner.interrupt() == 1
    settlement = await asyncio.wait_for(run, 2)

    assert settlement.redeliver_in == 0
    assert (leases.rows[job_id].status, leases.rows[job_id].attempts) == ("queued", 0)
    await asyncio.wait_for(runner.wait_idle(), 1)


def test_a_job_type_is_registered_once():
    types = JobTypes()

    async def one(job: JobContext) -> None: ...

    async def other(job: JobContext) -> None: ...

    types.add("x", one)
    types.add("x", one)  # the same function again (a module imported twice) is fine
    with pytest.raises(DuplicateJobType):
        types.add("x", other)
    with pytest.raises(ValueError, match="1 to 64"):
        types.add("", one)
    assert list(types) == ["x"]
    assert types.get("x") is one
    assert types.get("y") is None


async def test_a_job_waiting_for_a_start_keeps_its_message_alive_and_can_be_interrupted():
    types, leases = JobTypes(), FakeLeases()

    class SlowLimiter:
        async def acquire(self, ref: str) -> None:
            await asyncio.sleep(60)

    @types.register("gen")
    async def gen(job: JobContext) -> None:
        return None

    kept_alive = asyncio.Event()

    async def keep_alive() -> None:
        kept_alive.set()

    job_id = leases.add("gen")
    runner = JobRunner(leases, types, renew_every=0.01, limiter=SlowLimiter())
    run = asyncio.create_task(runner.run(job_id, WORKSPACE, keep_alive=keep_alive))
    await asyncio.wait_for(kept_alive.wait(), 1)

    assert runner.interrupt() == 1
    settlement = await asyncio.wait_for(run, 1)

    assert settlement.redeliver_in == 0
    assert (leases.rows[job_id].status, leases.rows[job_id].attempts) == ("queued", 0)
