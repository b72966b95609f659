"""Commands, queries and views of lead imports (``/leads/uploads``, ``/leads/imports``).

Ids arrive as strings where they name a resource: a malformed id is "not found", like another
workspace's.
"""

from __future__ import annotations

import msgspec

from scaliyo.application.bus import Command, Query
from scaliyo.application.shared.pagination import DEFAULT_LIMIT
from scaliyo.domain.leads.imports import DuplicatePolicy

PREVIEW_ROWS = 20


class RegisterUpload(Command, frozen=True, kw_only=True):
    """A file stored in blob storage (by the entrypoint, which streams it there) becomes an
    upload: ``sample`` is the file's beginning (all of it when ``complete``)."""

    upload_id: str
    blob_key: str
    filename: str | None
    size: int
    sha256: str
    sample: bytes
    complete: bool


class MappingEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One column of a mapping as a client sends it back: ``index`` says which column;
    ``column`` (its name) is checked when given; ``field`` null ignores the column."""

    index: int
    column: str | None = None
    field: str | None = None
    confidence: float | None = None  # what the proposal said; ignored


class ImportRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /leads/imports``."""

    upload_id: str
    mapping: list[MappingEntry] | None = None  # default: the proposed mapping
    duplicate_policy: DuplicatePolicy = DuplicatePolicy.SKIP
    tags: list[str] = msgspec.field(default_factory=list)


class StartImport(Command, frozen=True, kw_only=True):
    request: ImportRequest


class CheckUploadRoom(Query, frozen=True, kw_only=True):
    """Before a file is streamed: refuse it at once when its ``size`` (at least) cannot fit in
    the plan's storage left."""

    size: int


class ExpireUpload(Command, frozen=True, kw_only=True):
    """The first step of deleting an upload (``DELETE /leads/uploads/{id}``): no import can
    start from it any more; the answer names the file to delete, if it is still stored."""

    upload_id: str


class ExpiredUpload(msgspec.Struct, kw_only=True):
    blob_key: str | None  # None: the file is deleted already


class ReleaseUploadFile(Command, frozen=True, kw_only=True):
    """The last step, once the expired upload's file is deleted: the upload goes (its row too
    when it was never imported) and its bytes stop counting against the plan's storage."""

    upload_id: str


class GetImport(Query, frozen=True, kw_only=True):
    import_id: str


class CancelImport(Command, frozen=True, kw_only=True):
    import_id: str


class ListImports(Query, frozen=True, kw_only=True):
    """The workspace's imports, newest first."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


class GetImportFile(Query, frozen=True, kw_only=True):
    """The upload an import read, to read its rows again (its rejected rows)."""

    import_id: str


class ListImportProblems(Query, frozen=True, kw_only=True):
    """A page of an import's report, after ``(row, seq)``."""

    import_id: str
    after: tuple[int, int] | None = None
    limit: int = 1000


class ColumnView(msgspec.Struct, kw_only=True):
    index: int
    column: str
    field: str | None
    confidence: float


class UploadView(msgspec.Struct, kw_only=True):
    upload_id: str
    filename: str | None
    size: int
    sha256: str  # of the file as stored, hex
    encoding: str
    delimiter: str
    header: list[str] | None
    columns: list[str]
    mapping: list[ColumnView]
    # the import whose mapping ``mapping`` is (the newest of a file with the same columns),
    # else ``None``: proposed from the headers and the sample
    mapping_from_import: str | None
    rows: list[dict[str, object]]
    problems: list[dict[str, object]]
    row_estimate: int


class ImportStarted(msgspec.Struct, kw_only=True):
    import_id: str
    job_id: str


class ImportProgress(msgspec.Struct, kw_only=True):
    processed: int
    total: int | None


class ImportCountsView(msgspec.Struct, kw_only=True):
    created: int
    updated: int
    duplicates: int
    invalid: int
    limit_reached: int


class ImportView(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    upload_id: str
    job_id: str | None
    status: str
    duplicate_policy: str
    tags: list[str]
    progress: ImportProgress
    counts: ImportCountsView
    created_at: str
    filename: str | None = None  # the uploaded file's name, when it had one
    error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    cancel_requested_at: str | None = None  # it stops after the chunk it is writing
