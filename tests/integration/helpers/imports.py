"""Lead imports in integration tests: a bus with small chunks, running an import's job in this
process (rows prepared inline), files made from rows, and snapshots of a workspace's leads."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from nats.aio.client import Client
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.blobs.nats_object_store import NatsObjectStore
from scaliyo.adapters.clock import SystemClock
from scaliyo.adapters.ids import UuidV7Factory, new_id
from scaliyo.adapters.imports.row_workers import InlinePreparer
from scaliyo.adapters.imports.upload_rows import open_file_rows
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import unit_of_work_factory
from scaliyo.adapters.queue.lead_jobs import bind_lead_jobs
from scaliyo.adapters.queue.leases import SqlJobLeases
from scaliyo.application.bus import Bus, default_middleware
from scaliyo.application.jobs.job_types import job_types
from scaliyo.application.jobs.runner import JobRunner
from scaliyo.application.leads import import_job
from scaliyo.application.leads.derived import terms_of
from scaliyo.application.leads.handlers import lead_handlers
from scaliyo.application.leads.import_commands import ImportRequest, RegisterUpload, StartImport
from scaliyo.application.registry import build_handlers
from scaliyo.domain.leads.csv_format import CsvFormat
from scaliyo.domain.shared.ids import JobId, WorkspaceId

APOLLO = [
    "First Name",
    "Last Name",
    "Title",
    "Company",
    "Email",
    "Person Linkedin Url",
    "Website",
    "City",
    "Country",
]


def import_bus(database: Database, *, chunk_rows: int) -> Bus:
    handlers = dict(build_handlers(clock=SystemClock(), ids=UuidV7Factory()))
    handlers.update(
        lead_handlers(clock=SystemClock(), ids=UuidV7Factory(), import_chunk_rows=chunk_rows)
    )
    return Bus(handlers, unit_of_work_factory(database.app), default_middleware())


def csv_bytes(
    rows: Sequence[Sequence[str]], *, encoding: str = "utf-8", delimiter: str = ","
) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


async def run_import_job(database: Database, nc: Client, workspace_id: Any, job_id: str) -> Any:
    """Run an import's job here, rows prepared in this process."""
    bind_lead_jobs(database, NatsObjectStore(nc.jetstream()), import_workers=None)
    runner = JobRunner(SqlJobLeases(database.app, lease_seconds=30), job_types, renew_every=10)
    return await runner.run(JobId(UUID(job_id)), WorkspaceId(workspace_id))


async def lead_snapshot(engine: AsyncEngine, workspace_id: Any) -> list[tuple]:
    """Every lead of a workspace with its index rows, comparable across imports (and each
    lead's term rows checked against the terms its row lists)."""
    async with engine.connect() as conn:
        leads = (
            await conn.execute(
                text(
                    "SELECT id, email, first_name, last_name, title, company, company_domain,"
                    " website, linkedin_url, phone, city, country, tags, score, deleted_at,"
                    " updated_at, custom_fields::text, search_text, search_terms FROM leads"
                    " WHERE workspace_id = :ws ORDER BY id"
                ),
                {"ws": workspace_id},
            )
        ).all()
        terms = (
            await conn.execute(
                text(
                    "SELECT lead_id, term FROM lead_search_terms WHERE workspace_id = :ws"
                    " ORDER BY lead_id, term"
                ),
                {"ws": workspace_id},
            )
        ).all()
        tags = await conn.execute(
            text(
                "SELECT lead_id, tag_key FROM lead_tags WHERE workspace_id = :ws"
                " ORDER BY lead_id, tag_key"
            ),
            {"ws": workspace_id},
        )
        rows_of: dict[Any, list[str]] = {}
        for lead_id, term in terms:
            rows_of.setdefault(lead_id, []).append(term)
        for lead in leads:
            expected = [] if lead.deleted_at else terms_of(lead.search_text)
            assert rows_of.pop(lead.id, []) == lead.search_terms.split() == expected, lead
        assert rows_of == {}, "term rows of no lead"
        return [tuple(r) for r in [*leads, *terms, *tags]]


def error_lines(body: str) -> list[dict[str, str]]:
    """The errors CSV as dicts (BOM stripped)."""
    return list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))


class MemoryUploads:
    """An ``UploadReader`` over files held here (property tests skip blob storage)."""

    def __init__(self) -> None:
        self.files: dict[UUID, bytes] = {}

    async def open(self, upload):
        file = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the rows
        file.write(self.files[upload.id])
        fmt = CsvFormat(
            encoding=upload.encoding, delimiter=upload.delimiter, has_header=upload.has_header
        )
        return await open_file_rows(file, fmt)


class LocalJob:
    """What an import job reads of its ``JobContext``, for running one without a queue."""

    def __init__(
        self, workspace_id: Any, params: dict[str, Any], *, attempt: int = 1, max_attempts: int = 5
    ) -> None:
        self.workspace_id = workspace_id
        self.params = params
        self.attempt = attempt
        self.max_attempts = max_attempts
        self.reported: list[tuple[int, int | None]] = []

    async def report_progress(self, processed: int, total: int | None = None) -> None:
        self.reported.append((processed, total))


async def import_row(engine: AsyncEngine, import_id: str):
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT * FROM lead_imports WHERE id = :id"), {"id": UUID(import_id)}
            )
        ).one()


async def owner_rows(engine: AsyncEngine, sql: str, **params) -> list[tuple]:
    async with engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(text(sql), params)]


def counts_of(row) -> tuple[int, ...]:
    return (row.created, row.updated, row.duplicates, row.invalid, row.limit_reached)


async def register_memory_upload(
    bus, context, uploads: MemoryUploads, body: bytes, *, sample: bytes | None = None
) -> UUID:
    """Register ``body`` as an upload held in ``uploads``; its id."""
    upload_id = new_id()
    uploads.files[upload_id] = body
    await bus.execute(
        RegisterUpload(
            upload_id=str(upload_id),
            blob_key=f"{context.workspace_id}/upload/{upload_id}",
            filename=None,
            size=len(body),
            sha256="",
            sample=body if sample is None else sample,
            complete=sample is None,
        ),
        context,
    )
    return upload_id


async def start_memory_import(
    bus, context, uploads: MemoryUploads, body: bytes, *, sample: bytes | None = None, **request
) -> str:
    """Register ``body`` as an upload held in ``uploads`` and start its import; the import id."""
    upload_id = await register_memory_upload(bus, context, uploads, body, sample=sample)
    started = await bus.execute(
        StartImport(request=ImportRequest(upload_id=str(upload_id), **request)), context
    )
    return started.import_id


async def run_memory_import(
    database, workspace_id, import_id: str, uploads, preparer=None, *, attempt: int = 1
):
    return await import_job.run_import_job(
        LocalJob(  # type: ignore[arg-type]
            workspace_id, {"import_id": import_id}, attempt=attempt, max_attempts=2
        ),
        unit_of_work_factory(database.app),
        SystemClock(),
        UuidV7Factory(),
        uploads,
        preparer or InlinePreparer(),
    )
