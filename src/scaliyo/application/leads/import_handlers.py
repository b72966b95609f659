"""Handlers of lead uploads and imports. Each docstring lists the rules it enforces; the
import itself runs as the ``bulk_import`` job (``import_job.py``)."""

from __future__ import annotations

import io
from datetime import datetime
from uuid import UUID

import msgspec

from scaliyo.application.bus import Context
from scaliyo.application.identity.actors import require_permission, user_id_of
from scaliyo.application.leads.errors import (
    ImportFinished,
    ImportNotFound,
    StorageLimitReached,
    UploadExpired,
    UploadNotFound,
)
from scaliyo.application.leads.import_commands import (
    PREVIEW_ROWS,
    CancelImport,
    CheckUploadRoom,
    ColumnView,
    GetImport,
    GetImportFile,
    ImportCountsView,
    ImportProgress,
    ImportStarted,
    ImportView,
    ListImportProblems,
    ListImports,
    RegisterUpload,
    StartImport,
    UploadView,
)
from scaliyo.application.leads.import_job import IMPORT_JOB_TYPE, ImportJobParams
from scaliyo.application.leads.import_ports import (
    ImportProblem,
    ImportRecord,
    ImportStatus,
    UploadRecord,
)
from scaliyo.application.leads.import_rows import RowRules, prepare_rows
from scaliyo.application.leads.lead_handlers import workspace_of
from scaliyo.application.leads.ports import LeadsUnitOfWork
from scaliyo.application.leads.workspace_data import icp_of
from scaliyo.application.shared.pagination import Page, check_limit, decode_cursor, page_of
from scaliyo.application.shared.ports import Clock, IdFactory
from scaliyo.application.shared.time import rfc3339, rfc3339_or_none
from scaliyo.domain.identity.roles import Permission
from scaliyo.domain.jobs.job import Job, Queue
from scaliyo.domain.leads.column_mapping import (
    ColumnChoice,
    check_mapping,
    header_labels,
    header_names,
    propose_mapping,
)
from scaliyo.domain.leads.csv_format import UNDECODABLE, NoDataRows, read_records, sniff
from scaliyo.domain.leads.custom_fields import CustomFieldSet
from scaliyo.domain.leads.imports import ImportCounts
from scaliyo.domain.leads.profile import LeadProfile
from scaliyo.domain.leads.tags import clean_tags
from scaliyo.domain.shared.errors import FieldError, ValidationFailed
from scaliyo.domain.shared.ids import JobId
from scaliyo.domain.usage.counters import Check, LimitReached, Metric

# Tuned with bench/import.py (two chunks written at once), 2026-12-01: 1,000,000 rows ran at
# ~11,300 rows/s in chunks of 2,000 and ~11,600 in chunks of 4,000 (100,000 more into the full
# workspace: ~10,200 and ~11,200); 300,000 rows at ~12,600 (1,000), ~13,100 (2,000), ~13,400 to
# ~13,900 (4,000) and ~13,200 (8,000). A chunk of 4,000 is one transaction of ~0.5 s.
DEFAULT_CHUNK_ROWS = 4000
MAPPING_SAMPLE_ROWS = 200


def _uuid_or_none(raw: str) -> UUID | None:
    try:
        return UUID(raw)
    except (ValueError, TypeError, AttributeError):
        return None


def _blank(record: list[str]) -> bool:
    return not any(cell.strip() for cell in record)


class RegisterUploadHandler:
    """Describe a stored file and propose how to import it (``POST /leads/uploads``).

    Rules:
    - members and above (``leads.write``);
    - the encoding (BOM, UTF-8, else charset-normalizer), delimiter and header row are
      detected from the file's beginning; an empty, binary or undecodable file is a 422 with
      its code (``empty_file``, ``binary_file``, ``unknown_encoding``), a file without data
      rows ``no_data_rows``;
    - the proposed mapping knows common export headers and says how sure it is per column; a
      file with the same header as one imported before gets the mapping that import used
      (the newest such; ``mapping_from_import`` names it), unless it no longer holds;
    - the first 20 data rows are shown normalised, with each row's problems by column;
    - ``row_estimate`` is exact for a file that fits the sample, else extrapolated by size;
    - the file counts against the plan's storage (``storage_bytes``) until the upload purge
      deletes it: one that does not fit is 409 ``storage_limit_reached`` (and the entrypoint
      deletes it), whatever is uploaded concurrently.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(self, message: RegisterUpload, uow, context: Context) -> UploadView:
        require_permission(context, Permission.LEADS_WRITE)
        workspace = workspace_of(context)
        fmt = sniff(message.sample, complete=message.complete)
        records = list(read_records(io.BytesIO(message.sample), fmt))
        if not message.complete and len(records) > 1:
            records.pop()  # the sample may end inside the last record
        width = max((len(record) for record in records), default=0)
        header = (
            # a label is shown, not imported: bytes its encoding cannot read show as "�"
            [cell.replace(UNDECODABLE, "\ufffd") for cell in records[0]]
            if fmt.has_header and records
            else None
        )
        columns = header_names(header, width)
        first_row = 2 if fmt.has_header else 1
        numbered = [
            (first_row + offset, record)
            for offset, record in enumerate(records[1:] if fmt.has_header else records)
            if not _blank(record)
        ]
        if not numbered and (message.complete or not records):
            raise NoDataRows("The file has no data rows, only a header.")
        fields = await uow.custom_fields.get()
        # only a header says two files are laid out alike (made-up names only count columns)
        labels = header_labels(columns) if fmt.has_header else []
        earlier = await uow.lead_imports.latest_for_header(labels) if labels else None
        remembered = None if earlier is None else _remembered(earlier, columns, fields)
        choices = remembered or propose_mapping(
            columns, [record for _, record in numbered[:MAPPING_SAMPLE_ROWS]], fields
        )
        icp, _ = await icp_of(uow)
        now = self._clock.now()
        rules = RowRules(
            choices=tuple(choices), fields=fields, icp=icp, now=now, width=len(columns)
        )
        preview = prepare_rows(rules, numbered[:PREVIEW_ROWS])
        upload_id = _uuid_or_none(message.upload_id)
        assert upload_id is not None, "the entrypoint makes the id"
        upload = UploadRecord(
            id=upload_id,
            workspace_id=workspace,
            blob_key=message.blob_key,
            filename=message.filename,
            size=message.size,
            sha256=message.sha256,
            encoding=fmt.encoding,
            delimiter=fmt.delimiter,
            has_header=fmt.has_header,
            columns=tuple(columns),
            mapping=tuple(choices),
            row_estimate=_row_estimate(message, records, len(numbered)),
            created_by=user_id_of(context),
            created_at=now,
        )
        await _admit_stored_bytes(uow, upload.size, now)
        await uow.lead_imports.add_upload(upload)
        await uow.commit()
        return UploadView(
            upload_id=str(upload.id),
            filename=upload.filename,
            size=upload.size,
            sha256=upload.sha256,
            encoding=upload.encoding,
            delimiter=upload.delimiter,
            header=list(columns) if fmt.has_header else None,
            columns=list(columns),
            mapping=[_column_view(choice) for choice in choices],
            mapping_from_import=str(earlier.id) if earlier and remembered else None,
            rows=[
                {"row": row.row, "lead": _profile_json(row.profile)}
                for row in preview
                if row.profile is not None
            ],
            problems=[
                {"row": row.row, "column": p.column, "code": p.code, "message": p.message}
                for row in preview
                for p in row.problems
            ],
            row_estimate=upload.row_estimate,
        )


def _remembered(
    earlier: ImportRecord, columns: list[str], fields: CustomFieldSet
) -> list[ColumnChoice] | None:
    """The mapping an earlier import of a file with the same header used: one choice per
    column, each sure (a person chose it; columns it did not name stay ignored, as they were
    then, and so do made-up columns it did not have). ``None`` when it no longer holds (a
    custom field it fed was deleted since)."""
    chosen = {choice.index: choice.field for choice in earlier.mapping}
    choices = [
        ColumnChoice(index=index, column=name, field=chosen.get(index))
        for index, name in enumerate(columns)
    ]
    try:
        checked = check_mapping(choices, columns, fields)
    except ValidationFailed:
        return None
    return [msgspec.structs.replace(choice, confidence=1.0) for choice in checked]


class CheckUploadRoomHandler:
    """Refuse an upload before its bytes are streamed when the size it declares cannot fit in
    the plan's storage left (409 ``storage_limit_reached``). Members and above. Only a hint:
    registering the upload admits its real size, whatever was uploaded meanwhile."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(self, message: CheckUploadRoom, uow: LeadsUnitOfWork, context: Context):
        require_permission(context, Permission.LEADS_WRITE)
        room = await uow.limits.room(Metric.STORAGE_BYTES, at=self._clock.now())
        if room.left is not None and message.size > room.left:
            raise StorageLimitReached(room.limit, message.size)


async def _admit_stored_bytes(uow: LeadsUnitOfWork, size: int, now: datetime) -> None:
    """Count a stored file against the plan's storage, or refuse it."""
    try:
        await uow.limits.admit(Check(metric=Metric.STORAGE_BYTES, amount=max(1, size)), at=now)
    except LimitReached as refused:
        raise StorageLimitReached(refused.limit, size) from None


def _row_estimate(message: RegisterUpload, records: list[list[str]], data_rows: int) -> int:
    if message.complete or not records:
        return data_rows
    sample_records = max(1, len(records))
    estimate = message.size * sample_records // max(1, len(message.sample))
    return max(data_rows, estimate - (1 if records else 0))


def _column_view(choice: ColumnChoice) -> ColumnView:
    return ColumnView(
        index=choice.index, column=choice.column, field=choice.field, confidence=choice.confidence
    )


def _profile_json(profile: LeadProfile | None) -> dict[str, object]:
    if profile is None:
        return {}
    values = msgspec.to_builtins(profile)
    return {key: value for key, value in values.items() if value not in (None, {})}


class StartImportHandler:
    """Queue an import of an upload (``POST /leads/imports`` → 202 ``{import_id, job_id}``).

    Rules:
    - members and above (``leads.write``);
    - the upload is one of this workspace's (``upload_not_found``, 404 otherwise) and its file
      is still kept (``upload_expired``, 410, once ``lead-uploads-purge`` deleted it);
    - the mapping (default: the proposed one) names columns that exist (``unknown_column``),
      known fields or defined custom fields, each once, and something that identifies a lead;
      every problem is a 422 with its path (``mapping[2].field``);
    - tags are checked like a lead's (at most 100);
    - the import and its ``bulk_import`` job (queue ``data-processing``) are written in one
      transaction: the job runs only if the import exists.
    """

    def __init__(self, clock: Clock, ids: IdFactory, *, chunk_rows: int = DEFAULT_CHUNK_ROWS):
        self._clock = clock
        self._ids = ids
        self._chunk_rows = chunk_rows

    async def __call__(self, message: StartImport, uow, context: Context) -> ImportStarted:
        require_permission(context, Permission.LEADS_WRITE)
        workspace = workspace_of(context)
        request = message.request
        upload_id = _uuid_or_none(request.upload_id)
        upload = (  # locked: the upload purge cannot delete it under the new import
            None
            if upload_id is None
            else await uow.lead_imports.get_upload(upload_id, for_update=True)
        )
        if upload is None:
            raise UploadNotFound()
        if upload.purged_at is not None:
            raise UploadExpired()
        fields = await uow.custom_fields.get()
        if request.mapping is None:
            choices = list(upload.mapping)
            check_mapping(choices, list(upload.columns), fields)
        else:
            choices = check_mapping(request.mapping, list(upload.columns), fields)
        tags = clean_tags(request.tags)
        if len(tags) > 100:
            message_text = "At most 100 tags."
            raise ValidationFailed(
                message_text, errors=[FieldError("tags", "too_many_tags", message_text)]
            )
        now = self._clock.now()
        import_id = self._ids.new()
        job = Job.queue_new(
            id=JobId(self._ids.new()),
            workspace_id=workspace,
            queue=Queue.DATA_PROCESSING,
            type=IMPORT_JOB_TYPE,
            params=msgspec.to_builtins(ImportJobParams(import_id=import_id)),
            now=now,
        )
        record = ImportRecord(
            id=import_id,
            workspace_id=workspace,
            upload_id=upload.id,
            job_id=job.id,
            status=ImportStatus.QUEUED,
            mapping=tuple(choices),
            duplicate_policy=request.duplicate_policy,
            tags=tags,
            chunk_rows=self._chunk_rows,
            created_by=user_id_of(context),
            created_at=now,
        )
        await uow.lead_imports.add(record)
        await uow.jobs.add(job)
        await uow.commit()
        return ImportStarted(import_id=str(import_id), job_id=str(job.id))


async def load_import(uow, raw_id: str, *, for_update: bool = False) -> ImportRecord:
    import_id = _uuid_or_none(raw_id)
    record = (
        None if import_id is None else await uow.lead_imports.get(import_id, for_update=for_update)
    )
    if record is None:
        raise ImportNotFound()
    return record


def import_view(record: ImportRecord, filename: str | None = None) -> ImportView:
    counts: ImportCounts = record.counts
    return ImportView(
        id=str(record.id),
        filename=filename,
        upload_id=str(record.upload_id),
        job_id=None if record.job_id is None else str(record.job_id),
        status=record.status,
        duplicate_policy=record.duplicate_policy.value,
        tags=list(record.tags),
        progress=ImportProgress(processed=record.rows_done, total=record.total_rows),
        counts=ImportCountsView(**msgspec.structs.asdict(counts)),
        created_at=rfc3339(record.created_at),
        error=record.error,
        started_at=rfc3339_or_none(record.started_at),
        finished_at=rfc3339_or_none(record.finished_at),
        cancel_requested_at=rfc3339_or_none(record.cancel_requested_at),
    )


class CancelImportHandler:
    """``POST /leads/imports/{id}/cancel``: stop an import (a wrong file or mapping).

    Rules:
    - members and above (``leads.write``); another workspace's import is 404;
    - a queued import is cancelled at once: its job, when it runs, reads nothing;
    - a running one is asked to stop (``cancel_requested_at``): its job ends it ``cancelled``
      after the chunk being written, keeping what it committed (its leads, counts and report
      lines: every row it went through is accounted for, the rest of the file is not read);
      one whose last chunk is already written completes instead;
    - asking again changes nothing; an import that completed or failed is 409
      ``import_finished``.
    The answer is the import as it is now.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(self, message: CancelImport, uow, context: Context) -> ImportView:
        require_permission(context, Permission.LEADS_WRITE)
        record = await load_import(uow, message.import_id, for_update=True)
        now = self._clock.now()
        if record.status == ImportStatus.QUEUED:
            record.status = ImportStatus.CANCELLED
            record.cancel_requested_at = record.finished_at = now
        elif record.status == ImportStatus.RUNNING:
            record.cancel_requested_at = record.cancel_requested_at or now
        elif record.status != ImportStatus.CANCELLED:
            raise ImportFinished(f"The import has {record.status}.")
        await uow.lead_imports.save(record)
        upload = await uow.lead_imports.get_upload(record.upload_id)
        view = import_view(record, None if upload is None else upload.filename)
        await uow.commit()
        return view


class GetImportHandler:
    """``GET /leads/imports/{id}``: status, progress, counts and the file's name. Viewers and
    above; another workspace's import, or an id that is not one, is 404 ``import_not_found``."""

    async def __call__(self, message: GetImport, uow, context: Context) -> ImportView:
        require_permission(context, Permission.LEADS_READ)
        record = await load_import(uow, message.import_id)
        upload = await uow.lead_imports.get_upload(record.upload_id)
        return import_view(record, None if upload is None else upload.filename)


class ListImportsHandler:
    """``GET /leads/imports``: the workspace's imports, newest first, as ``GET
    /leads/imports/{id}`` shows each (an import history). Viewers and above; ``limit`` 1 to
    200 (``out_of_range``), ``cursor`` the ``next_cursor`` of the page before
    (``invalid_cursor`` otherwise)."""

    async def __call__(self, message: ListImports, uow, context: Context) -> Page[ImportView]:
        require_permission(context, Permission.LEADS_READ)
        limit = check_limit(message.limit)
        rows = await uow.lead_imports.recent(limit=limit + 1, before=decode_cursor(message.cursor))
        page = page_of(rows, limit, lambda row: row[0].id)
        return Page(
            items=[import_view(record, filename) for record, filename in page.items],
            next_cursor=page.next_cursor,
        )


class GetImportFileHandler:
    """The upload an import read (``GET /leads/imports/{id}/rejected`` reads its rows again).

    Rules: members and above (``leads.write``: the file holds columns the import left out,
    which only those who upload and import see, in the preview); another workspace's import
    or none is 404 ``import_not_found``; once the upload's file is deleted (by its user, or
    after the retention) 410 ``upload_expired`` (the report, ``/errors``, stays)."""

    async def __call__(self, message: GetImportFile, uow, context: Context) -> UploadRecord:
        require_permission(context, Permission.LEADS_WRITE)
        record = await load_import(uow, message.import_id)
        upload = await uow.lead_imports.get_upload(record.upload_id)
        assert upload is not None  # an import goes with its upload (ON DELETE CASCADE)
        if upload.purged_at is not None:
            raise UploadExpired()
        return upload


class ListImportProblemsHandler:
    """A page of an import's report (``GET /leads/imports/{id}/errors`` streams them all):
    every row not created or updated, in row order. Viewers and above."""

    async def __call__(
        self, message: ListImportProblems, uow, context: Context
    ) -> list[ImportProblem]:
        require_permission(context, Permission.LEADS_READ)
        record = await load_import(uow, message.import_id)
        return await uow.lead_imports.problems(
            record.id, after=message.after, limit=max(1, min(message.limit, 5000))
        )
