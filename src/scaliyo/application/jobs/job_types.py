"""The registry of job types: which async function runs a job of a given ``type``.

The spine ships no business job types. A module registers its own at import time::

    from scaliyo.application.jobs.job_types import job_types

    @job_types.register("leads.import")
    async def import_leads(job: JobContext) -> dict[str, Any] | None: ...

and the worker imports that module (``scaliyo worker --import MODULE``, or the list of modules the
worker always imports once modules exist). A job whose type no function is registered for fails
with a clear error instead of waiting forever.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scaliyo.application.jobs.execution import JobContext

JobFunction = Callable[["JobContext"], Awaitable[dict[str, Any] | None]]


class DuplicateJobType(ValueError):
    """Two functions for one job type: the second registration is a programming error."""


class JobTypes:
    """A mapping of job type → the async function that runs it."""

    def __init__(self) -> None:
        self._functions: dict[str, JobFunction] = {}

    def add(self, type: str, function: JobFunction) -> None:
        if not type or len(type) > 64:
            raise ValueError("a job type is 1 to 64 characters")
        existing = self._functions.get(type)
        if existing is not None and existing is not function:
            raise DuplicateJobType(f"job type {type!r} is already registered")
        self._functions[type] = function

    def register(self, type: str) -> Callable[[JobFunction], JobFunction]:
        """Decorator form of :meth:`add`."""

        def decorate(function: JobFunction) -> JobFunction:
            self.add(type, function)
            return function

        return decorate

    def get(self, type: str) -> JobFunction | None:
        return self._functions.get(type)

    def __contains__(self, type: object) -> bool:
        return type in self._functions

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._functions))


# The process-wide registry the worker runs jobs from.
job_types = JobTypes()
