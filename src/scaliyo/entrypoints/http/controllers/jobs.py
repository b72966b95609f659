"""``/api/v1/jobs``: the request's workspace's background jobs."""

from __future__ import annotations

from typing import Annotated

from dishka.integrations.litestar import FromDishka, inject
from litestar import get
from litestar.params import FromPath, FromQuery, QueryParameter

from scaliyo.application.bus import Bus, Context
from scaliyo.application.jobs.queries import GetJob, JobView, ListJobs
from scaliyo.application.shared.pagination import DEFAULT_LIMIT, Page
from scaliyo.domain.jobs.job import JobStatus, Queue
from scaliyo.entrypoints.http.paging import PageCursor, PageLimit
from scaliyo.entrypoints.http.problems import WORKSPACE_ROUTE_PROBLEMS


@get(
    "/jobs/{job_id:str}",
    tags=["jobs"],
    responses=WORKSPACE_ROUTE_PROBLEMS,
    summary="One job of the workspace",
)
@inject
async def get_job(
    job_id: FromPath[str], bus: FromDishka[Bus], context: FromDishka[Context]
) -> JobView:
    return await bus.execute(GetJob(job_id=job_id), context)


@get(
    "/jobs",
    tags=["jobs"],
    responses=WORKSPACE_ROUTE_PROBLEMS,
    summary="The workspace's jobs, newest first",
)
@inject
async def list_jobs(
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    limit: PageLimit = DEFAULT_LIMIT,
    cursor: PageCursor = None,
    status: FromQuery[JobStatus | None] = None,
    queue: FromQuery[Queue | None] = None,
    job_type: Annotated[str | None, QueryParameter(name="type", max_length=64)] = None,
) -> Page[JobView]:
    query = ListJobs(limit=limit, cursor=cursor, status=status, queue=queue, type=job_type)
    return await bus.execute(query, context)


route_handlers = [get_job, list_jobs]
