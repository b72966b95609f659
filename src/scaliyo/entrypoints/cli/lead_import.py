"""``scaliyo leads import FILE --workspace ID``: the API's import pipeline from a terminal.

The file goes to blob storage and is registered and imported through the bus (as an operator
acting as the workspace's admin); the ``bulk_import`` job is run in this process, with a
progress bar, unless a worker took it first (then its progress is shown until it ends).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import click
import msgspec

from scaliyo.adapters.blobs.nats_object_store import NatsObjectStore
from scaliyo.adapters.ids import new_id
from scaliyo.adapters.messaging.connection import connect_nats
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.process_lifetime import settle_startup_objects
from scaliyo.adapters.queue.lead_jobs import bind_lead_jobs, unbind_lead_jobs
from scaliyo.adapters.queue.leases import SqlJobLeases
from scaliyo.adapters.settings import Settings
from scaliyo.application.bus import Actor, ActorKind, Bus, Context
from scaliyo.application.identity.commands import GetWorkspace, WorkspaceView
from scaliyo.application.jobs.job_types import job_types
from scaliyo.application.jobs.runner import JobRunner
from scaliyo.application.leads.import_commands import (
    GetImport,
    ImportRequest,
    ImportView,
    MappingEntry,
    RegisterUpload,
    StartImport,
    UploadView,
)
from scaliyo.application.leads.import_ports import ImportStatus
from scaliyo.application.leads.upload_deletion import delete_upload_now
from scaliyo.domain.leads.imports import DuplicatePolicy
from scaliyo.domain.shared.errors import DomainError
from scaliyo.domain.shared.ids import JobId, WorkspaceId
from scaliyo.entrypoints.container import build_container

SAMPLE_BYTES = 1024 * 1024
READ_BYTES = 1024 * 1024


def load_mapping_file(path: Path) -> Any:
    """A mapping file's JSON, read before anything is stored: one that cannot be read is a
    usage error, not a traceback."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise click.UsageError(f"the mapping file cannot be read as JSON: {error}") from None


def read_mapping(raw: Any, columns: list[str]) -> list[MappingEntry]:
    """A mapping file's JSON against the file's columns: the API's list (``[{"index": 0,
    "field": "email"}, …]``) or an object naming columns (``{"Work Email": "email", "Notes":
    null}``; columns not named are ignored)."""
    if isinstance(raw, dict):
        entries = []
        for name, field in raw.items():
            if name not in columns:
                raise click.UsageError(f"the mapping names {name!r}, which the file lacks")
            entries.append({"index": columns.index(name), "column": name, "field": field})
        raw = entries
    try:
        return msgspec.convert(raw, list[MappingEntry])
    except msgspec.ValidationError as error:
        raise click.UsageError(f"the mapping file is not valid: {error}") from None


async def _file_chunks(path: Path):
    with path.open("rb") as file:
        while chunk := file.read(READ_BYTES):
            yield chunk


async def run_import(
    settings: Settings,
    workspace_id: UUID,
    path: Path,
    mapping_path: Path | None,
    policy: DuplicatePolicy,
    tags: list[str],
) -> ImportView:
    mapping_file = None if mapping_path is None else load_mapping_file(mapping_path)
    container = build_container(settings=settings)
    nc = await connect_nats(settings.require_nats(), name="scaliyo-cli-import")
    try:
        bus = await container.get(Bus)
        database = await container.get(Database)
        blobs = NatsObjectStore(nc.jetstream())
        # the pool preparing rows starts while the file is stored
        bind_lead_jobs(database, blobs, import_workers=settings.import_workers, warm=True)
        settle_startup_objects()
        context = Context(
            request_id=f"cli-{new_id()}",
            actor=Actor(ActorKind.OPERATOR, workspace_role="admin"),
            workspace_id=WorkspaceId(workspace_id),
        )
        # a workspace that does not exist is refused before its file is stored
        workspace: WorkspaceView = await bus.execute(GetWorkspace(), context)
        upload_id = new_id()
        ref = await blobs.put(
            workspace_id, "upload", str(upload_id), _file_chunks(path), content_type="text/csv"
        )
        with path.open("rb") as file:
            sample = file.read(SAMPLE_BYTES)
        try:
            upload: UploadView = await bus.execute(
                RegisterUpload(
                    upload_id=str(upload_id),
                    blob_key=ref.key,
                    filename=path.name[:255],
                    size=ref.size,
                    sha256=ref.sha256,
                    sample=sample,
                    complete=ref.size <= len(sample),
                ),
                context,
            )
        except BaseException:  # a file refused (empty, binary, no room) is not kept
            await blobs.delete(workspace_id, ref.key)
            raise
        mapped = ", ".join(f"{c.column} → {c.field}" for c in upload.mapping if c.field)
        if upload.mapping_from_import:
            mapped += f" (as import {upload.mapping_from_import} mapped these columns)"
        click.echo(
            f"{path.name} into {workspace.name!r}: {upload.encoding}, "
            f"delimiter {upload.delimiter!r}, ~{upload.row_estimate:,} rows; {mapped}",
            err=True,
        )
        try:
            mapping = None if mapping_file is None else read_mapping(mapping_file, upload.columns)
            started = await bus.execute(
                StartImport(
                    request=ImportRequest(
                        upload_id=upload.upload_id,
                        mapping=mapping,
                        duplicate_policy=policy,
                        tags=tags,
                    )
                ),
                context,
            )
        except BaseException:  # a refused mapping (or a start cut short): the file is not kept
            try:
                await delete_upload_now(bus, context, blobs, upload.upload_id)
            except Exception as error:  # e.g. upload_in_use: the import was queued after all
                click.echo(f"upload {upload.upload_id} kept: {error}", err=True)
            raise
        runner = JobRunner(
            SqlJobLeases(database.app, lease_seconds=settings.job_lease_seconds),
            job_types,
            renew_every=settings.job_lease_seconds / 3,
        )
        job = asyncio.create_task(
            runner.run(JobId(UUID(started.job_id)), WorkspaceId(workspace_id))
        )
        return await follow_progress(bus, context, started.import_id, job)
    finally:
        unbind_lead_jobs()
        await nc.close()
        await container.close()


async def follow_progress(
    bus: Bus, context: Context, import_id: str, job: asyncio.Task
) -> ImportView:
    """A progress bar until the import ends (here, or in a worker that took the job)."""
    view: ImportView = await bus.execute(GetImport(import_id=import_id), context)
    with click.progressbar(
        length=max(1, view.progress.total or 1), label="importing", file=sys.stderr
    ) as bar:
        shown = 0
        while True:
            view = await bus.execute(GetImport(import_id=import_id), context)
            if view.progress.total:
                bar.length = max(1, view.progress.total)
            bar.update(view.progress.processed - shown)
            shown = view.progress.processed
            if view.status in ImportStatus.ENDED:  # cancelled too, from the API
                break
            if job.done() and job.exception() is not None:
                raise job.exception()  # type: ignore[misc]
            await asyncio.sleep(0.5)
    if not job.done():
        job.cancel()
    return view


def print_result(view: ImportView) -> None:
    counts = view.counts
    click.echo(
        f"import {view.id}: {view.status}; created {counts.created:,}, updated "
        f"{counts.updated:,}, duplicates {counts.duplicates:,}, invalid {counts.invalid:,}, "
        f"limit reached {counts.limit_reached:,}"
    )
    if view.error:
        click.echo(f"error: {view.error}", err=True)
    not_landed = counts.duplicates + counts.invalid + counts.limit_reached
    if not_landed:
        click.echo(
            f"{not_landed:,} rows were not created or updated: "
            f"GET /api/v1/leads/imports/{view.id}/errors lists each with why",
            err=True,
        )


def import_command(
    settings: Settings,
    workspace_id: UUID,
    path: Path,
    mapping_path: Path | None,
    policy: str,
    tags: list[str],
) -> None:
    try:
        view = asyncio.run(
            run_import(settings, workspace_id, path, mapping_path, DuplicatePolicy(policy), tags)
        )
    except DomainError as error:
        click.echo(f"{error.code}: {error.detail}", err=True)
        for problem in getattr(error, "errors", None) or []:
            click.echo(f"  {problem.field}: {problem.code}: {problem.message}", err=True)
        sys.exit(1)
    print_result(view)
    if view.status != "completed":
        sys.exit(1)
