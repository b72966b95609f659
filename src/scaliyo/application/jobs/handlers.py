from __future__ import annotations

from uuid import UUID

from scaliyo.application.bus import Context
from scaliyo.application.jobs.ports import JobsUnitOfWork
from scaliyo.application.jobs.queries import GetJob, JobView, ListJobs, ProgressView
from scaliyo.application.shared.pagination import Page, check_limit, decode_cursor, page_of
from scaliyo.application.shared.time import rfc3339, rfc3339_or_none
from scaliyo.domain.jobs.job import Job, JobNotFound
from scaliyo.domain.shared.ids import JobId


class GetJobHandler:
    """One job of the request's workspace.

    Rules: a job of another workspace, or an id that is not a UUID, is ``job_not_found`` (404),
    never a hint that it exists elsewhere.
    """

    async def __call__(self, message: GetJob, uow: JobsUnitOfWork, context: Context) -> JobView:
        try:
            job_id = JobId(UUID(message.job_id))
        except ValueError:
            raise JobNotFound() from None
        job = await uow.jobs.get(job_id)
        if job is None:
            raise JobNotFound()
        return job_view(job)


class ListJobsHandler:
    """The workspace's jobs, newest first, with cursor pagination and filters.

    Rules: ``limit`` is 1–200; the cursor must be one this API gave out.
    """

    async def __call__(
        self, message: ListJobs, uow: JobsUnitOfWork, context: Context
    ) -> Page[JobView]:
        limit = check_limit(message.limit)
        rows = await uow.jobs.list(
            limit=limit + 1,
            before=decode_cursor(message.cursor),
            status=message.status,
            queue=message.queue,
            type=message.type,
        )
        page = page_of(rows, limit, lambda job: job.id)
        return Page(items=[job_view(job) for job in page.items], next_cursor=page.next_cursor)


def job_view(job: Job) -> JobView:
    total = job.progress.total
    percent = round(100 * job.progress.processed / total, 1) if total else None
    return JobView(
        id=str(job.id),
        queue=job.queue.value,
        type=job.type,
        status=job.status.value,
        progress=ProgressView(processed=job.progress.processed, total=total, percent=percent),
        attempts=job.attempts,
        tokens=job.tokens,
        created_at=rfc3339(job.created_at),
        updated_at=rfc3339(job.updated_at),
        result=job.result,
        error=job.error,
        started_at=rfc3339_or_none(job.started_at),
        finished_at=rfc3339_or_none(job.finished_at),
    )
