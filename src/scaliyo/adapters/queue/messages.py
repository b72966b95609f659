"""The wire form of a job's message: a taskiq JSON message on the queue's subject.

Jobs are queued through the outbox: the job row and its message are written in one transaction,
and the relay publishes the message (``Nats-Msg-Id`` = outbox id), so a job is never lost between
commit and kick, and never kicked for a transaction that rolled back.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from scaliyo.domain.jobs.job import Job, Queue

RUN_JOB_TASK = "scaliyo.run_job"
JOB_SUBJECT_PREFIX = "scaliyo.jobs"


def queue_subject(queue: Queue) -> str:
    return f"{JOB_SUBJECT_PREFIX}.{queue.value}"


def queue_stream(queue: Queue) -> str:
    return "JOBS_" + queue.value.upper().replace("-", "_")


def queue_durable(queue: Queue) -> str:
    return "workers-" + queue.value


def job_message(job: Job) -> dict[str, Any]:
    """The taskiq message (its JSON fields) that runs ``job`` on its queue's workers."""
    return run_job_message(job.id, job.workspace_id)


def run_job_message(job_id: UUID, workspace_id: UUID) -> dict[str, Any]:
    """The taskiq message that runs the job ``job_id`` (also used to re-publish a stuck job)."""
    return {
        "task_id": str(job_id),
        "task_name": RUN_JOB_TASK,
        "labels": {},
        "labels_types": None,
        "args": [],
        "kwargs": {"job_id": str(job_id), "workspace_id": str(workspace_id)},
    }
