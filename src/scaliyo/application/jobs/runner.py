"""The job runner: one message in, one attempt at most, one settlement out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from scaliyo.application.jobs.execution import (
    ACK,
    JobContext,
    JobError,
    JobLeases,
    Lease,
    LeaseLost,
    Refusal,
    Settlement,
    StartLimiter,
    failure_of,
)
from scaliyo.application.jobs.job_types import JobTypes
from scaliyo.domain.jobs.job import retry_delay
from scaliyo.domain.shared.errors import DomainError
from scaliyo.domain.shared.ids import JobId, WorkspaceId

log = logging.getLogger("scaliyo.jobs")

KeepAlive = Callable[[], Awaitable[None]]

UNKNOWN_TYPE = "Unknown job type {type!r}: no worker has a function registered for it."
NOT_AN_OBJECT = "The job's result is not a JSON object."
MAX_ERROR_LENGTH = 2000


class JobRunner:
    """Runs the job a message names, under a lease, and says how to settle the message.

    Rules:
    - A job runs only under a lease taken by one conditional update. A message for a job that
      runs elsewhere comes back when that lease would lapse (a dead worker's job is then taken
      over and resumes from its recorded progress); one for a finished or unknown job is dropped.
    - On a rate-limited queue the start is recorded by the limiter before the lease is taken, and
      a job that is visibly not runnable uses up no start.
    - A failed attempt with attempts left goes back to queued, due after
      ``retry_delay(attempt)``, and its message is redelivered then; otherwise the job fails.
      ``JobError(retryable=False)`` and business-rule errors fail at once. Only a ``JobError``'s
      or business error's message reaches the row; anything else is logged and shown generically.
    - A job type without a registered function fails at once with a clear error.
    - The lease is renewed every ``renew_every`` seconds (and ``keep_alive`` is called, so the
      broker does not redeliver a running job); a lost lease cancels the job and nothing more is
      written by this worker.
    - ``interrupt`` (shutdown) cancels running jobs, gives their attempt back and asks for
      immediate redelivery.
    """

    def __init__(
        self,
        leases: JobLeases,
        types: JobTypes,
        *,
        renew_every: float,
        limiter: StartLimiter | None = None,
    ) -> None:
        if renew_every <= 0:
            raise ValueError("renew_every must be positive")
        self._leases = leases
        self._types = types
        self._renew_every = renew_every
        self._limiter = limiter
        self._running: set[asyncio.Future[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def running(self) -> int:
        """Jobs running, or waiting for a start, in this runner now."""
        return len(self._running)

    async def wait_idle(self) -> None:
        """Return once nothing runs or waits in this runner."""
        await self._idle.wait()

    def _track(self, future: asyncio.Future[Any]) -> None:
        self._running.add(future)
        self._idle.clear()

    def _untrack(self, future: asyncio.Future[Any]) -> None:
        self._running.discard(future)
        if not self._running:
            self._idle.set()

    def interrupt(self) -> int:
        """Cancel every running or waiting job (shutdown); each releases its lease and its
        message is redelivered at once. Returns how many."""
        for work in self._running:
            work.cancel()
        return len(self._running)

    async def run(
        self, job_id: JobId, workspace_id: WorkspaceId, *, keep_alive: KeepAlive | None = None
    ) -> Settlement:
        if self._limiter is not None:
            refusal = await self._leases.peek(job_id, workspace_id)
            if refusal is not None:
                return _settle_refusal(job_id, refusal)
            waiting = asyncio.ensure_future(self._limiter.acquire(str(job_id)))
            self._track(waiting)
            # A long wait for a start must not look like a dead worker to the broker.
            ticking = asyncio.ensure_future(self._keep_alive(keep_alive))
            try:
                await waiting
            except asyncio.CancelledError:
                if _cancelling():
                    raise
                return Settlement(redeliver_in=0)  # interrupted before it started
            finally:
                ticking.cancel()
                self._untrack(waiting)
        taken = await self._leases.take(job_id, workspace_id)
        if isinstance(taken, Refusal):
            return _settle_refusal(job_id, taken)
        return await self._run_leased(taken, keep_alive)

    async def _run_leased(self, lease: Lease, keep_alive: KeepAlive | None) -> Settlement:
        function = self._types.get(lease.type)
        if function is None:
            await self._leases.fail(lease, UNKNOWN_TYPE.format(type=lease.type))
            return ACK
        log.info(
            "job started",
            extra={"job_id": str(lease.job_id), "type": lease.type, "attempt": lease.attempt},
        )
        context = JobContext(lease, self._leases)
        work = asyncio.create_task(function(context), name=f"job-{lease.job_id}")
        self._track(work)
        renewer = asyncio.create_task(self._renew(lease, context, work, keep_alive))
        error: str
        retryable = True
        try:
            result = await work
        except asyncio.CancelledError:
            if context.lease_lost and not _cancelling():
                return _lost(lease)
            return await self._interrupted(lease)
        except LeaseLost:
            return _lost(lease)
        except Exception as failure:
            if not isinstance(failure, JobError | DomainError):
                log.exception(
                    "job attempt raised", extra={"job_id": str(lease.job_id), "type": lease.type}
                )
            error, retryable = failure_of(failure)
        else:
            if context.lease_lost:
                return _lost(lease)
            if _is_json_object(result):
                if not await self._leases.complete(lease, result):
                    return _lost(lease)
                log.info("job completed", extra={"job_id": str(lease.job_id)})
                return ACK
            error, retryable = NOT_AN_OBJECT, False
        finally:
            renewer.cancel()
            self._untrack(work)
        if context.lease_lost:
            return _lost(lease)
        return await self._failed(lease, error[:MAX_ERROR_LENGTH], retryable=retryable)

    async def _failed(self, lease: Lease, error: str, *, retryable: bool) -> Settlement:
        if retryable and lease.attempt < lease.max_attempts:
            delay = retry_delay(lease.attempt)
            if not await self._leases.retry_later(lease, error, delay):
                return _lost(lease)
            log.info(
                "job attempt failed; retrying later",
                extra={"job_id": str(lease.job_id), "retry_in": delay.total_seconds()},
            )
            return Settlement(redeliver_in=delay.total_seconds())
        await self._leases.fail(lease, error)
        log.info("job failed", extra={"job_id": str(lease.job_id), "attempt": lease.attempt})
        return ACK

    async def _interrupted(self, lease: Lease) -> Settlement:
        """Give the attempt back so the job runs again at once on another worker."""
        release = asyncio.ensure_future(self._leases.release(lease))
        try:
            await asyncio.shield(release)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await release
            raise
        if _cancelling():
            raise asyncio.CancelledError
        log.info("job interrupted; released", extra={"job_id": str(lease.job_id)})
        return Settlement(redeliver_in=0)

    async def _keep_alive(self, keep_alive: KeepAlive | None) -> None:
        if keep_alive is None:
            return
        while True:
            await asyncio.sleep(self._renew_every)
            try:
                await keep_alive()
            except Exception:
                log.warning("could not keep the job's message alive", exc_info=True)

    async def _renew(
        self,
        lease: Lease,
        context: JobContext,
        work: asyncio.Task[Any],
        keep_alive: KeepAlive | None,
    ) -> None:
        while True:
            await asyncio.sleep(self._renew_every)
            try:
                renewed = await self._leases.renew(lease)
            except Exception:
                # The database may be back before the lease lapses; fenced writes keep us safe.
                log.warning("could not renew a job lease", extra={"job_id": str(lease.job_id)})
                continue
            if not renewed:
                context.lease_lost = True
                work.cancel()
                return
            if keep_alive is not None:
                try:
                    await keep_alive()
                except Exception:
                    log.warning("could not keep the job's message alive", exc_info=True)


def _settle_refusal(job_id: JobId, refusal: Refusal) -> Settlement:
    log.info(
        "job not taken",
        extra={"job_id": str(job_id), "reason": refusal.reason, "retry_in": refusal.retry_in},
    )
    return Settlement(redeliver_in=refusal.retry_in)


def _lost(lease: Lease) -> Settlement:
    log.warning("job lease lost; another worker has the job", extra={"job_id": str(lease.job_id)})
    return ACK


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _is_json_object(result: object) -> bool:
    if result is None:
        return True
    if not isinstance(result, dict):
        return False
    try:
        msgspec.json.encode(result)
    except (TypeError, ValueError, OverflowError):
        return False
    return True
