"""Running one job: the ports the job runner needs and the context a job function gets.

A job runs under a lease on its row (``locked_until``), taken with one conditional statement and
renewed while it runs. Every write a running job makes is fenced by the attempt that took the
lease, so a worker whose lease lapsed and was taken over can no longer change the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from scaliyo.domain.jobs.job import Progress
from scaliyo.domain.shared.errors import DomainError, ErrorKind
from scaliyo.domain.shared.ids import JobId, WorkspaceId


class JobError(Exception):
    """A job's failure whose message is safe to show the job's owner (it lands in ``error``).

    Any other exception fails the attempt with a generic message; its details go to the log only,
    so a traceback or a secret in an exception's text never reaches the job row.
    ``retryable=False`` fails the job at once, whatever attempts are left.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class LeaseLost(Exception):
    """This worker's lease lapsed and another worker took the job over: stop, write nothing."""


INTERNAL_ERROR = "The job failed with an internal error ({name}); the worker's log has the details."


def failure_of(error: Exception) -> tuple[str, bool]:
    """What a failed attempt's row says, and whether the job may run again: a ``JobError`` says
    both; a business-rule error fails at once with its detail, unless it says that something
    is unavailable for now (retried); anything else is retried and shown generically (its
    details go to the log only)."""
    if isinstance(error, JobError):
        return error.message, error.retryable
    if isinstance(error, DomainError):
        return error.detail, error.kind is ErrorKind.UNAVAILABLE
    return INTERNAL_ERROR.format(name=type(error).__name__), True


@dataclass(frozen=True, slots=True)
class Lease:
    """A job taken by this worker for one attempt (``attempt`` fences every later write)."""

    job_id: JobId
    workspace_id: WorkspaceId
    type: str
    params: dict[str, Any]
    progress: Progress
    attempt: int
    max_attempts: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a job was not taken, and when its message should come back (None: drop it)."""

    reason: str
    retry_in: float | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """What to do with the message that asked for the job: ack it, or redeliver it later."""

    redeliver_in: float | None = None

    @property
    def ack(self) -> bool:
        return self.redeliver_in is None


ACK = Settlement()


class JobLeases(Protocol):
    """The job row as the runner sees it. Each call is one short transaction in the tenant."""

    async def peek(self, job_id: JobId, workspace_id: WorkspaceId) -> Refusal | None:
        """Why the job cannot be taken now, or None when it looks runnable (nothing changes)."""
        ...

    async def take(self, job_id: JobId, workspace_id: WorkspaceId) -> Lease | Refusal:
        """Lease a job that is queued and due, or processing with a lapsed lease."""
        ...

    async def renew(self, lease: Lease) -> bool:
        """Push ``locked_until`` forward; False when the lease is no longer ours."""
        ...

    async def record_progress(self, lease: Lease, progress: Progress) -> bool: ...

    async def add_tokens(self, lease: Lease, tokens: int) -> bool: ...

    async def complete(self, lease: Lease, result: dict[str, Any] | None) -> bool: ...

    async def retry_later(self, lease: Lease, error: str, delay: timedelta) -> bool:
        """Back to queued, due after ``delay``; the attempt stays counted."""
        ...

    async def fail(self, lease: Lease, error: str) -> bool: ...

    async def release(self, lease: Lease) -> bool:
        """Back to queued at once, the attempt not counted (the worker is shutting down)."""
        ...


class StartLimiter(Protocol):
    """A limit on job starts that holds across every worker process."""

    async def acquire(self, ref: str) -> None:
        """Wait until one more start is allowed, then record it (``ref`` names the job)."""
        ...


class JobContext:
    """What a job function gets: its parameters, where it left off, and ways to report.

    ``progress`` is the last recorded progress: a job resumed after its worker died continues
    from ``progress.processed`` rather than from the start.
    """

    def __init__(self, lease: Lease, leases: JobLeases) -> None:
        self.lease = lease
        self._leases = leases
        self.lease_lost = False

    @property
    def job_id(self) -> JobId:
        return self.lease.job_id

    @property
    def workspace_id(self) -> WorkspaceId:
        return self.lease.workspace_id

    @property
    def type(self) -> str:
        return self.lease.type

    @property
    def params(self) -> dict[str, Any]:
        return self.lease.params

    @property
    def progress(self) -> Progress:
        return self.lease.progress

    @property
    def attempt(self) -> int:
        return self.lease.attempt

    @property
    def max_attempts(self) -> int:
        return self.lease.max_attempts

    async def report_progress(self, processed: int, total: int | None = None) -> None:
        """Record progress (its own short transaction; it renews the lease too).

        Raises ``ValueError`` for progress that breaks the invariants and ``LeaseLost`` when the
        job has been taken over.
        """
        progress = Progress(processed=processed, total=total)
        if not await self._leases.record_progress(self.lease, progress):
            self.lease_lost = True
            raise LeaseLost(str(self.job_id))

    async def add_tokens(self, tokens: int) -> None:
        """Add ``tokens`` to the job's token count at once (they are spent even if it fails)."""
        if tokens < 0:
            raise ValueError("tokens cannot be negative")
        if tokens == 0:
            return
        if not await self._leases.add_tokens(self.lease, tokens):
            self.lease_lost = True
            raise LeaseLost(str(self.job_id))
