"""What lead imports need from the world: their records, the rows they read the file with, and
the prepared rows of other processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from scaliyo.application.leads.import_rows import NumberedRecord, PreparedRow, RowRules
from scaliyo.domain.leads.column_mapping import ColumnChoice
from scaliyo.domain.leads.dedup import DedupKeys
from scaliyo.domain.leads.imports import DuplicatePolicy, ImportCounts
from scaliyo.domain.leads.lead import Lead


class UploadRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    workspace_id: UUID
    blob_key: str
    filename: str | None
    size: int
    sha256: str
    encoding: str
    delimiter: str
    has_header: bool
    columns: tuple[str, ...]
    mapping: tuple[ColumnChoice, ...]  # the proposed one
    row_estimate: int
    created_by: UUID | None
    created_at: datetime
    purged_at: datetime | None = None  # expired: its file is deleted or being deleted
    file_deleted_at: datetime | None = None  # its file is gone from blob storage


class ImportStatus:
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ACTIVE = (QUEUED, RUNNING)  # an import of the upload may still read its file
    ENDED = (COMPLETED, FAILED, CANCELLED)


class ImportRecord(msgspec.Struct, kw_only=True):
    id: UUID
    workspace_id: UUID
    upload_id: UUID
    job_id: UUID | None
    status: str
    mapping: tuple[ColumnChoice, ...]
    duplicate_policy: DuplicatePolicy
    tags: tuple[str, ...]
    chunk_rows: int
    total_rows: int | None = None
    rows_done: int = 0
    counts: ImportCounts = msgspec.field(default_factory=ImportCounts)
    error: str | None = None
    created_by: UUID | None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancel_requested_at: datetime | None = None  # a running import stops after its chunk


class ImportProblem(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One line of an import's error report."""

    row: int
    seq: int
    column: str | None
    code: str
    message: str


class NewLead(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: UUID
    status: UUID
    row: PreparedRow


class FileRelease(msgspec.Struct, frozen=True, kw_only=True):
    """What releasing uploads' files did: uploads deleted, uploads kept (they have imports),
    and the bytes their files held."""

    deleted: int = 0
    kept: int = 0
    freed_bytes: int = 0


class LeadImportStore(Protocol):
    """``uow.lead_imports``: uploads, imports and their reports, and the set-based writes of
    an import's chunk, in the unit of work's workspace and transaction."""

    async def add_upload(self, upload: UploadRecord) -> None: ...

    async def get_upload(
        self, upload_id: UUID, *, for_update: bool = False
    ) -> UploadRecord | None: ...

    async def has_active_import(self, upload_id: UUID) -> bool:
        """Whether an import of the upload is queued or running."""
        ...

    async def expire_upload(self, upload_id: UUID, now: datetime) -> None:
        """Mark the upload expired (``purged_at``), if it is not yet."""
        ...

    async def release_files(self, upload_ids: Sequence[UUID], now: datetime) -> FileRelease:
        """The expired uploads among ``upload_ids`` whose file is deleted now, locked: those
        never imported are deleted, the others keep their row with ``file_deleted_at``. Each
        upload is released once (rows already released are left out)."""
        ...

    async def add(self, record: ImportRecord) -> None: ...

    async def get(self, import_id: UUID, *, for_update: bool = False) -> ImportRecord | None: ...

    async def recent(
        self, *, limit: int, before: UUID | None
    ) -> list[tuple[ImportRecord, str | None]]:
        """Imports newest first (older than ``before``), each with its upload's file name."""
        ...

    async def save(self, record: ImportRecord) -> None:
        """Status, progress, counts, error and times."""
        ...

    async def matching(self, keys: Sequence[DedupKeys]) -> list[Lead]:
        """Every lead (deleted ones too) sharing a key with any of ``keys``, locked, in id
        order."""
        ...

    async def insert_new(
        self, leads: Sequence[NewLead], *, import_id: UUID, source: str, now: datetime
    ) -> int:
        """Insert the leads, made by ``import_id``, with their tag and search-term rows; how
        many were inserted (a lead whose key another transaction took meanwhile is not)."""
        ...

    async def mark_imported(self, import_id: UUID, lead_ids: Sequence[UUID]) -> None:
        """The leads (restored from the trash) were made by ``import_id``."""
        ...

    async def exists(self, import_id: UUID) -> bool: ...

    async def latest_for_header(self, labels: Sequence[str]) -> ImportRecord | None:
        """This workspace's newest import of an upload whose header named exactly these
        columns, in order (``header_labels``)."""
        ...

    async def add_problems(self, import_id: UUID, problems: Sequence[ImportProblem]) -> None: ...

    async def add_matches(self, import_id: UUID, matches: dict[UUID, int]) -> None:
        """Existing leads this import's rows matched (lead id → the first such row)."""
        ...

    async def matches(self, import_id: UUID) -> dict[UUID, int]: ...

    async def problems(
        self, import_id: UUID, *, after: tuple[int, int] | None, limit: int
    ) -> list[ImportProblem]: ...


class RowPreparer(Protocol):
    """Prepares batches of records, possibly in other processes."""

    async def prepare(
        self, rules: RowRules, records: list[NumberedRecord]
    ) -> list[PreparedRow]: ...

    async def close(self) -> None: ...


class BrokenRow(msgspec.Struct, frozen=True):
    """Where a file stops being readable: the row that would come next, and why."""

    row: int
    message: str


class UploadRows(Protocol):
    """The data records of an upload, numbered as rows of the file (the header is row 1), in
    batches of ``size``; the header and blank records are left out. ``counted`` counts them
    (while the batches are read); ``total`` is that count once it is known, else ``None``.

    A file that stops being CSV part way (a quote never closed) gives the records before that
    point; ``broken`` then says where it stopped and why (that row counts in ``total``)."""

    broken: BrokenRow | None

    @property
    def total(self) -> int | None: ...

    async def counted(self) -> int: ...

    def batches(self, size: int) -> AsyncIterator[list[NumberedRecord]]: ...

    async def close(self) -> None: ...


class UploadReader(Protocol):
    async def open(self, upload: UploadRecord) -> UploadRows:
        """Fetch the upload's file and start counting its data records."""
        ...
