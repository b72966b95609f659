"""``/api/v1/leads/uploads`` and ``/api/v1/leads/imports``: CSV files streamed to blob storage,
previewed with a proposed mapping, and imported by a ``bulk_import`` job."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import multipart
from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Stream

from scaliyo.adapters.imports.upload_rows import BlobUploadReader, FileRows
from scaliyo.adapters.settings import Settings
from scaliyo.application.bus import Bus, Context
from scaliyo.application.identity.actors import require_permission
from scaliyo.application.leads.errors import FileRequired, FileTooLarge, UploadExpired
from scaliyo.application.leads.import_commands import (
    CancelImport,
    CheckUploadRoom,
    GetImport,
    GetImportFile,
    ImportRequest,
    ImportStarted,
    ImportView,
    ListImportProblems,
    ListImports,
    RegisterUpload,
    StartImport,
    UploadView,
)
from scaliyo.application.leads.import_ports import ImportProblem, UploadRecord
from scaliyo.application.leads.import_rows import NumberedRecord
from scaliyo.application.leads.rejected_rows import RejectedRow, rejected_rows
from scaliyo.application.leads.upload_deletion import delete_upload_now
from scaliyo.application.shared.blobs import BlobStorage, BlobTooLarge
from scaliyo.application.shared.pagination import DEFAULT_LIMIT, Page
from scaliyo.application.shared.ports import IdFactory
from scaliyo.domain.identity.roles import Permission
from scaliyo.domain.leads.csv_format import UNDECODABLE
from scaliyo.domain.leads.export import escape_cell
from scaliyo.entrypoints.http.idempotency import Idempotency
from scaliyo.entrypoints.http.paging import PageCursor, PageLimit
from scaliyo.entrypoints.http.problems import (
    WORKSPACE_ROUTE_PROBLEMS,
    problem_responses,
    register_status,
)

register_status(FileTooLarge, 413)
register_status(UploadExpired, 410)
IMPORT_PROBLEMS = {**WORKSPACE_ROUTE_PROBLEMS, **problem_responses(402, 403, 409, 413)}
SAMPLE_BYTES = 1024 * 1024  # what detection and the preview read
MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file
CSV_MEDIA_TYPES = {"text/csv", "text/plain", "application/csv", "application/octet-stream"}
ERRORS_PAGE = 5000
_UNREADABLE_FILE = "The uploaded file cannot be read back from storage; /errors lists every row."
REJECTED_BATCH = 2000  # records of the file read at a time for its rejected rows


class _Sample:
    """The first ``SAMPLE_BYTES`` of what streams through, its size and digest."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.size = 0
        self.sha256 = hashlib.sha256()

    def see(self, chunk: bytes) -> bytes:
        if len(self.head) < SAMPLE_BYTES:
            self.head += chunk[: SAMPLE_BYTES - len(self.head)]
        self.size += len(chunk)
        self.sha256.update(chunk)
        return chunk


class _RawFile:
    """A raw ``text/csv`` body; its name, if any, is the ``filename`` query parameter."""

    found = True

    def __init__(self, request: Request) -> None:
        self._request = request
        self.filename = request.query_params.get("filename")

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._request.stream():
            if chunk:
                yield chunk


class _MultipartFile:
    """The ``file`` part of a multipart body, streamed (other parts are skipped)."""

    def __init__(self, request: Request, boundary: str, limit: int) -> None:
        self._request = request
        self._parser = multipart.PushMultipartParser(
            boundary, max_segment_count=8, max_header_size=8192
        )
        self._limit = limit
        self.filename: str | None = None
        self.found = False

    async def chunks(self) -> AsyncIterator[bytes]:
        inside = False
        received = 0
        try:
            async for data in self._request.stream():
                received += len(data)
                if received > self._limit + MULTIPART_SLACK:
                    raise BlobTooLarge()
                for event in self._parser.parse(data):
                    if isinstance(event, multipart.MultipartSegment):
                        inside = event.name == "file" and not self.found
                        if inside:
                            self.found = True
                            self.filename = event.filename
                    elif event is None:
                        inside = False
                    elif inside and event:
                        yield bytes(event)
            for _ in self._parser.parse(b""):
                pass
            self._parser.close()
        except multipart.ParserError as error:
            raise FileRequired(f"The multipart body is not valid: {error}") from None


def _boundary(content_type: str) -> str | None:
    _, _, params = content_type.partition(";")
    for part in params.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "boundary" and value:
            return value.strip('"')
    return None


@post(
    "/leads/uploads",
    tags=["leads"],
    responses={**IMPORT_PROBLEMS, **problem_responses(503)},
    request_max_body_size=None,  # enforced while streaming, against the setting
    summary="Upload a CSV file (multipart `file` or a raw text/csv body) and preview it",
)
@inject
async def upload_leads(
    request: Request,
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    blobs: FromDishka[BlobStorage],
    ids: FromDishka[IdFactory],
    settings: FromDishka[Settings],
    idempotency: FromDishka[Idempotency],
) -> Response[UploadView]:
    """The file is streamed to blob storage (at most ``SCALIYO_IMPORT_MAX_BYTES``, 200 MB by
    default: 413 ``file_too_large`` past it). The answer holds the detected encoding,
    delimiter and header, a proposed mapping with a confidence per column, the first 20 rows
    normalised, their problems, and an estimate of the rows. A file that does not fit in the
    plan's storage left is 409 ``storage_limit_reached`` (before its bytes are read, when its
    ``Content-Length`` says so). File storage that cannot be reached answers 503
    ``storage_unavailable``. Accepts ``Idempotency-Key``: a retry sending the same file (bytes
    and name) with the same key is answered the first upload, and its file is neither stored
    nor counted again; another file with that key is 422 ``idempotency_key_reused``."""
    require_permission(context, Permission.LEADS_WRITE)
    assert context.workspace_id is not None
    limit = settings.import_max_bytes
    declared = request.headers.get("content-length")
    declared_size = int(declared) if declared and declared.isdigit() else None
    if declared_size is not None and declared_size > limit + MULTIPART_SLACK:
        raise FileTooLarge(f"The file is larger than {limit} bytes.")
    incoming = _incoming_file(request, limit)

    async def store() -> UploadView:
        if declared_size is not None:
            # the smallest the file can be: refused now if even that cannot fit in storage
            slack = MULTIPART_SLACK if isinstance(incoming, _MultipartFile) else 0
            if declared_size - slack > 0:
                await bus.execute(CheckUploadRoom(size=declared_size - slack), context)
        return await _store_upload(incoming, bus, context, blobs, ids.new(), limit)

    async def same_file(answer: Any) -> bool:
        return await _sent_again(incoming, answer, limit)

    return await idempotency.run_streamed(request, context, store, same_file)


async def _store_upload(
    incoming: _RawFile | _MultipartFile,
    bus: Bus,
    context: Context,
    blobs: BlobStorage,
    upload_id: UUID,
    limit: int,
) -> UploadView:
    """The file streamed into blob storage and registered (deleted again if that fails)."""
    workspace_id = context.workspace_id
    assert workspace_id is not None
    sample = _Sample()

    async def seen() -> AsyncIterator[bytes]:
        async for chunk in incoming.chunks():
            yield sample.see(chunk)

    try:
        ref = await blobs.put(
            workspace_id, "upload", str(upload_id), seen(), content_type="text/csv", max_size=limit
        )
    except BlobTooLarge:
        raise FileTooLarge(f"The file is larger than {limit} bytes.") from None
    if not incoming.found:
        await blobs.delete(workspace_id, ref.key)
        raise FileRequired("The multipart body has no `file` part.")
    try:
        return await bus.execute(
            RegisterUpload(
                upload_id=str(upload_id),
                blob_key=ref.key,
                filename=_stored_name(incoming.filename),
                size=ref.size,
                sha256=ref.sha256,
                sample=bytes(sample.head),
                complete=ref.size <= SAMPLE_BYTES,
            ),
            context,
        )
    except BaseException:
        await blobs.delete(workspace_id, ref.key)
        raise


async def _sent_again(incoming: _RawFile | _MultipartFile, answer: Any, limit: int) -> bool:
    """A retry sent the first upload's file again (``answer`` is its stored answer): the same
    bytes under the same name. Read through a digest, not stored."""
    digest = hashlib.sha256()
    size = 0
    try:
        async for chunk in incoming.chunks():
            size += len(chunk)
            if size > limit:
                return False
            digest.update(chunk)
    except BlobTooLarge:
        return False
    return (
        incoming.found
        and isinstance(answer, dict)
        and answer.get("sha256") == digest.hexdigest()
        and answer.get("filename") == _stored_name(incoming.filename)
    )


def _incoming_file(request: Request, limit: int) -> _RawFile | _MultipartFile:
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        boundary = _boundary(content_type)
        if boundary is None:
            raise FileRequired("The multipart body has no boundary.")
        return _MultipartFile(request, boundary, limit)
    if media_type in CSV_MEDIA_TYPES or not media_type:
        return _RawFile(request)
    raise FileRequired("Send the file as multipart/form-data (field `file`) or text/csv.")


def _stored_name(filename: str | None) -> str | None:
    return filename[:255] if filename else None


@delete(
    "/leads/uploads/{upload_id:str}",
    tags=["leads"],
    responses={**IMPORT_PROBLEMS, **problem_responses(503)},
    summary="Delete an upload's file now (its imports and their reports stay)",
)
@inject
async def delete_upload(
    upload_id: FromPath[str],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    blobs: FromDishka[BlobStorage],
) -> None:
    """204: the file is gone from storage and no longer counts against the plan's storage; an
    upload never imported goes entirely, one with imports keeps them (importing it again is 410
    ``upload_expired``). 409 ``upload_in_use`` while an import of it is queued or running. If
    storage cannot be reached (503), the upload is expired already and the hourly purge
    finishes the deletion."""
    await delete_upload_now(bus, context, blobs, upload_id)


@post(
    "/leads/imports",
    tags=["leads"],
    responses={**IMPORT_PROBLEMS, **problem_responses(410)},
    summary="Import an upload with a mapping and a duplicate policy (a job)",
)
@inject
async def start_import(
    request: Request,
    data: JSONBody[ImportRequest],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    idempotency: FromDishka[Idempotency],
) -> Response[ImportStarted]:
    """202 ``{import_id, job_id}``; watch ``GET /leads/imports/{id}``. Accepts
    ``Idempotency-Key``: a retry with the same key and body starts one import. An upload whose
    file was deleted after ``SCALIYO_IMPORT_UPLOAD_RETENTION_HOURS`` answers 410
    ``upload_expired``."""
    return await idempotency.run(
        request, context, lambda: bus.execute(StartImport(request=data), context), status_code=202
    )


@post(
    "/leads/imports/{import_id:str}/cancel",
    tags=["leads"],
    status_code=202,
    responses=IMPORT_PROBLEMS,
    summary="Stop an import: at once while queued, after the chunk being written while running",
)
@inject
async def cancel_import(
    import_id: FromPath[str], bus: FromDishka[Bus], context: FromDishka[Context]
) -> ImportView:
    """202 with the import as it is now: ``cancelled`` if it was queued; if it runs,
    ``cancel_requested_at`` is set and it ends ``cancelled`` after the chunk being written,
    keeping what it committed (its leads, counts and report; delete its leads with the lead
    filter ``import_id``). 409 ``import_finished`` once it completed or failed."""
    return await bus.execute(CancelImport(import_id=import_id), context)


@get(
    "/leads/imports/{import_id:str}",
    tags=["leads"],
    responses=IMPORT_PROBLEMS,
    summary="An import: status, progress and counts",
)
@inject
async def get_import(
    import_id: FromPath[str], bus: FromDishka[Bus], context: FromDishka[Context]
) -> ImportView:
    return await bus.execute(GetImport(import_id=import_id), context)


@get(
    "/leads/imports",
    tags=["leads"],
    responses=IMPORT_PROBLEMS,
    summary="The workspace's imports, newest first: status, progress, counts, file name",
)
@inject
async def list_imports(
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    limit: PageLimit = DEFAULT_LIMIT,
    cursor: PageCursor = None,
) -> Page[ImportView]:
    return await bus.execute(ListImports(limit=limit, cursor=cursor), context)


async def _report_pages(
    bus: Bus, context: Context, import_id: str, first: list[ImportProblem] | None = None
) -> AsyncIterator[list[ImportProblem]]:
    """An import's report, page by page in row order (``first``: its first page, read
    already)."""
    page = first
    if page is None:
        page = await bus.execute(
            ListImportProblems(import_id=import_id, limit=ERRORS_PAGE), context
        )
    yield page
    while len(page) == ERRORS_PAGE:
        after: Any = (page[-1].row, page[-1].seq)
        page = await bus.execute(
            ListImportProblems(import_id=import_id, after=after, limit=ERRORS_PAGE), context
        )
        yield page


def _csv_lines(problems: list[ImportProblem], *, header: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        out.write("\ufeff")
        writer.writerow(["row", "column", "code", "message"])
    for p in problems:
        writer.writerow([p.row, escape_cell(p.column or ""), p.code, escape_cell(p.message)])
    return out.getvalue().encode()


@get(
    "/leads/imports/{import_id:str}/errors",
    tags=["leads"],
    responses=IMPORT_PROBLEMS,
    media_type="text/csv",
    summary="Every row not created or updated, as CSV: row, column, code, message",
)
@inject
async def import_errors(
    import_id: FromPath[str], bus: FromDishka[Bus], context: FromDishka[Context]
) -> Stream:
    query = ListImportProblems(import_id=import_id, limit=ERRORS_PAGE)
    # The first page is read before the response starts: an unknown import answers 404.
    first: list[ImportProblem] = await bus.execute(query, context)

    async def lines() -> AsyncIterator[bytes]:
        yield _csv_lines([], header=True)
        async for page in _report_pages(bus, context, import_id, first):
            yield _csv_lines(page, header=False)

    return Stream(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="import-{import_id[:36]}-errors.csv"'
        },
    )


def _rejected_lines(rows: list[RejectedRow], *, header: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header is not None:
        out.write("\ufeff")
        writer.writerow(["Row", "Errors", *map(escape_cell, header)])
    for rejected in rows:
        cells = (escape_cell(cell.replace(UNDECODABLE, "\ufffd")) for cell in rejected.cells)
        writer.writerow([rejected.row, escape_cell(rejected.reasons), *cells])
    return out.getvalue().encode()


@get(
    "/leads/imports/{import_id:str}/rejected",
    tags=["leads"],
    responses={**IMPORT_PROBLEMS, **problem_responses(410, 503)},
    media_type="text/csv",
    summary="The rows not imported for a reason to fix, as the file has them, with why",
)
@inject
async def import_rejected_rows(
    import_id: FromPath[str],
    bus: FromDishka[Bus],
    context: FromDishka[Context],
    blobs: FromDishka[BlobStorage],
) -> Stream:
    """CSV of the rows to fix and import again: ``Row`` (the file's row number), ``Errors``
    (why), then the file's columns with the row's cells as the file has them (formulas
    defused, unreadable bytes as "�"). Invalid rows, rows past the contact limit, unreadable
    and shifted rows; not duplicates (``/errors`` lists every row not created or updated).
    Members and above: the cells include columns the import left out. 410 ``upload_expired``
    once the uploaded file is deleted."""
    upload: UploadRecord = await bus.execute(GetImportFile(import_id=import_id), context)
    # checked before the response starts: a file gone is a 410, not a cut-off body
    if not await blobs.exists(upload.workspace_id, upload.blob_key):
        raise UploadExpired(_UNREADABLE_FILE)
    opened: list[FileRows] = []

    async def open_records() -> AsyncIterator[list[NumberedRecord]]:
        # fetched only once a row to give back is found, and never counted
        rows = await BlobUploadReader(blobs).open(upload, count=False)
        opened.append(rows)
        return rows.batches(REJECTED_BATCH)

    async def lines() -> AsyncIterator[bytes]:
        try:
            yield _rejected_lines([], header=list(upload.columns))
            report = _report_pages(bus, context, import_id)
            async for batch in rejected_rows(open_records, report):
                yield _rejected_lines(batch)
        finally:
            for rows in opened:
                await rows.close()

    return Stream(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="import-{import_id[:36]}-rejected.csv"'
        },
    )


route_handlers = [
    upload_leads,
    delete_upload,
    start_import,
    list_imports,
    get_import,
    cancel_import,
    import_errors,
    import_rejected_rows,
]
