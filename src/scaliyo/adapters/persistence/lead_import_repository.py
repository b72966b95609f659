"""Lead uploads, imports and their error reports on PostgreSQL, and the set-based writes of an
import chunk.

``COPY`` cannot target a table under row-level security, so a chunk's new leads (with their
tags and search terms) are copied into a TEMP table of the connection (made once per
connection, emptied at each commit) and moved with one ``INSERT … SELECT`` each into leads,
terms and tags, inside the chunk's transaction. A lead whose key another transaction took
meanwhile is a unique violation (SQLSTATE 23505): the caller rolls the chunk back and runs it
again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import and_, func, insert, or_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.lead_repository import (
    LEAD_COLUMNS,
    PROFILE_COLUMNS,
    lead_from_row,
)
from scaliyo.adapters.persistence.tables import (
    lead_import_errors,
    lead_import_matches,
    lead_imports,
    lead_uploads,
    leads,
)
from scaliyo.application.leads.import_ports import (
    FileRelease,
    ImportProblem,
    ImportRecord,
    ImportStatus,
    NewLead,
    UploadRecord,
)
from scaliyo.domain.leads.attributes import CompanySize, Department, Seniority
from scaliyo.domain.leads.column_mapping import ColumnChoice, header_labels
from scaliyo.domain.leads.dedup import DedupKeys
from scaliyo.domain.leads.imports import DuplicatePolicy, ImportCounts
from scaliyo.domain.leads.lead import Lead
from scaliyo.domain.leads.tags import tag_key

# The columns of a new lead's COPY record, in the order ``lead_copy_record`` builds it; the
# other columns of ``leads`` (``CHUNK_COLUMNS``) hold the same value for every lead of a chunk
# and are given once, to the ``INSERT … SELECT`` (a test holds the two to the columns of
# ``leads``).
LEAD_COPY_COLUMNS = (
    "id",
    *PROFILE_COLUMNS,
    "company_size",
    "seniority",
    "department",
    "custom_fields",
    "status",
    "tags",
    "tag_keys",
    "score",
    "score_reasons",
    "name_key",
    "sort_name",
    "search_text",
    "search_terms",
)
CHUNK_COLUMNS = (
    "workspace_id",
    "source",
    "owner_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "import_id",
)
# The term rows are made in SQL from the leads' ``search_terms`` (terms joined by spaces), not
# sent as arrays of one element per term.
_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS import_leads ON COMMIT DELETE ROWS AS "
    f"SELECT {', '.join(LEAD_COPY_COLUMNS)} FROM leads WITH NO DATA"
)
# No ON CONFLICT (its speculative insertion checks every unique index twice): a key another
# transaction took since the chunk was resolved is a unique violation, and the chunk runs again.
_MOVE_LEADS = text(
    f"INSERT INTO leads ({', '.join((*LEAD_COPY_COLUMNS, *CHUNK_COLUMNS))}) "
    f"SELECT {', '.join(LEAD_COPY_COLUMNS)}, CAST(:workspace AS uuid), CAST(:source AS text), "
    "NULL, CAST(:now AS timestamptz), CAST(:now AS timestamptz), NULL, CAST(:import_id AS uuid) "
    "FROM import_leads"
)
# New leads' terms cannot conflict (new ids, distinct terms a lead): no ON CONFLICT, whose
# speculative insertion searches the primary key twice; in key order, so that neighbouring
# rows land on the same index pages.
_MOVE_TERMS = text(
    "INSERT INTO lead_search_terms (workspace_id, term, lead_id) "
    "SELECT CAST(:workspace AS uuid), term, id "
    "FROM import_leads CROSS JOIN LATERAL unnest(string_to_array(search_terms, ' ')) AS term "
    'ORDER BY term COLLATE "C", id'
)
_MOVE_TAGS = text(
    "INSERT INTO lead_tags (workspace_id, tag_key, lead_id, tag) "
    "SELECT CAST(:workspace AS uuid), tag_key, id, tag "
    "FROM import_leads CROSS JOIN LATERAL unnest(tag_keys, tags) AS u (tag_key, tag) "
    "ON CONFLICT DO NOTHING"
)
# A chunk's report lines in one statement, not one each (a chunk of 4,000 rows of a file with
# 5% duplicates has 200 lines).
_ADD_PROBLEMS = text(
    'INSERT INTO lead_import_errors (workspace_id, import_id, row, seq, "column", code, message) '
    "SELECT CAST(:workspace AS uuid), CAST(:import_id AS uuid), r, s, c, k, m "
    "FROM unnest(CAST(:rows AS bigint[]), CAST(:seqs AS smallint[]), CAST(:columns AS text[]), "
    "CAST(:codes AS text[]), CAST(:messages AS text[])) AS u (r, s, c, k, m)"
)
_COUNT_FIELDS = ImportCounts.__struct_fields__
# The workspace as a value unknown when planning (see ``SqlLeadImports.matching``).
_WS = "(SELECT CAST(:ws AS uuid))"
_MATCHING = text(
    f"""
    SELECT lead.* FROM (
        SELECT m.id FROM unnest(CAST(:emails AS text[])) AS k(v)
        CROSS JOIN LATERAL (SELECT id FROM leads
                            WHERE workspace_id = {_WS} AND email IS NOT NULL AND email = k.v
                            OFFSET 0) AS m
        UNION
        SELECT m.id FROM unnest(CAST(:links AS text[])) AS k(v)
        CROSS JOIN LATERAL (SELECT id FROM leads
                            WHERE workspace_id = {_WS} AND linkedin_url IS NOT NULL
                              AND linkedin_url = k.v
                            OFFSET 0) AS m
        UNION
        SELECT m.id FROM unnest(CAST(:names AS text[])) AS k(v)
        CROSS JOIN LATERAL (SELECT id FROM leads
                            WHERE workspace_id = {_WS} AND name_key IS NOT NULL
                              AND name_key = k.v
                            OFFSET 0) AS m
        ORDER BY id
    ) AS found
    CROSS JOIN LATERAL (SELECT {", ".join(column.name for column in LEAD_COLUMNS)} FROM leads
                        WHERE leads.id = found.id AND workspace_id = {_WS}
                        FOR UPDATE) AS lead
    """
)


def _upload_from_row(row: Any) -> UploadRecord:
    return UploadRecord(
        id=row.id,
        workspace_id=row.workspace_id,
        blob_key=row.blob_key,
        filename=row.filename,
        size=row.size,
        sha256=row.sha256,
        encoding=row.encoding,
        delimiter=row.delimiter,
        has_header=row.has_header,
        columns=tuple(row.columns),
        mapping=msgspec.convert(row.mapping, tuple[ColumnChoice, ...]),
        row_estimate=row.row_estimate,
        created_by=row.created_by,
        created_at=row.created_at,
        purged_at=row.purged_at,
        file_deleted_at=row.file_deleted_at,
    )


def _import_from_row(row: Any) -> ImportRecord:
    return ImportRecord(
        id=row.id,
        workspace_id=row.workspace_id,
        upload_id=row.upload_id,
        job_id=row.job_id,
        status=row.status,
        mapping=msgspec.convert(row.mapping, tuple[ColumnChoice, ...]),
        duplicate_policy=DuplicatePolicy(row.duplicate_policy),
        tags=tuple(row.tags),
        chunk_rows=row.chunk_rows,
        total_rows=row.total_rows,
        rows_done=row.rows_done,
        counts=ImportCounts(**{name: getattr(row, name) for name in _COUNT_FIELDS}),
        error=row.error,
        created_by=row.created_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        cancel_requested_at=row.cancel_requested_at,
    )


def _import_values(record: ImportRecord) -> dict[str, Any]:
    return {
        "status": record.status,
        "job_id": record.job_id,
        "total_rows": record.total_rows,
        "rows_done": record.rows_done,
        **{name: getattr(record.counts, name) for name in _COUNT_FIELDS},
        "error": record.error,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "cancel_requested_at": record.cancel_requested_at,
    }


# the SQL list of ``ImportStatus.ACTIVE``: ('queued', 'running')
ACTIVE_IMPORT_STATUSES = "(" + ", ".join(f"'{status}'" for status in ImportStatus.ACTIVE) + ")"
# Deleting an upload's file (the retention purge, DELETE /leads/uploads/{id}): expired uploads
# whose file is not yet marked deleted, locked in id order.
_ACTIVE_IMPORT = text(
    "SELECT 1 FROM lead_imports WHERE workspace_id = :ws AND upload_id = :upload_id "
    f"AND status IN {ACTIVE_IMPORT_STATUSES} LIMIT 1"
)
_EXPIRE_UPLOAD = text(
    "UPDATE lead_uploads SET purged_at = :now "
    "WHERE workspace_id = :ws AND id = :id AND purged_at IS NULL"
)
_LOCK_RELEASABLE = text(
    "SELECT id, size FROM lead_uploads WHERE workspace_id = :ws AND id = ANY(:ids) "
    "AND purged_at IS NOT NULL AND file_deleted_at IS NULL ORDER BY id FOR UPDATE"
)
_IMPORTED_UPLOADS = text(
    "SELECT DISTINCT upload_id FROM lead_imports WHERE workspace_id = :ws AND upload_id = ANY(:ids)"
)
_DELETE_UPLOADS = text("DELETE FROM lead_uploads WHERE workspace_id = :ws AND id = ANY(:ids)")
_MARK_FILE_DELETED = text(
    "UPDATE lead_uploads SET file_deleted_at = :now WHERE workspace_id = :ws AND id = ANY(:ids)"
)

_JSON = msgspec.json.Encoder()
_profile_values = attrgetter(*PROFILE_COLUMNS)  # a tuple of the plain text columns
_NO_CUSTOM_FIELDS = "{}"
# an enum member's stored text by lookup (``.value`` is a property, slow in a loop this hot)
_TEXT_OF: dict[Any, str | None] = {
    None: None,
    **{member: member.value for kind in (CompanySize, Seniority, Department) for member in kind},
}


def lead_copy_record(new: NewLead) -> tuple:
    """A new lead's ``leads`` row in ``LEAD_COPY_COLUMNS`` order (the values ``lead_values``
    gives a ``Lead``; JSON columns as text). Built field by field: it runs for every imported
    lead."""
    row = new.row
    p = row.profile
    assert p is not None
    assert row.keys is not None
    tags = list(row.tags)
    return (
        new.id,
        *_profile_values(p),
        _TEXT_OF[p.company_size],
        _TEXT_OF[p.seniority],
        _TEXT_OF[p.department],
        _JSON.encode(p.custom_fields).decode() if p.custom_fields else _NO_CUSTOM_FIELDS,
        new.status,
        tags,
        list(map(tag_key, tags)),
        row.score,
        _JSON.encode(row.reasons).decode(),  # [{"code", "label", "points"}, …]
        row.keys.name,
        row.sort_name,
        row.search_text,
        " ".join(row.terms),
    )


def chunk_values(
    workspace_id: UUID, source: str, now: datetime, import_id: UUID | None = None
) -> tuple:
    """The values of ``CHUNK_COLUMNS`` for the new leads of a chunk."""
    return (workspace_id, source, None, now, now, None, import_id)


_HEADER_CANDIDATES = 20  # newest imports whose columns start with a header's labels


class SqlLeadImports:
    """``uow.lead_imports``."""

    def __init__(self, connection: AsyncConnection, workspace: Callable[[], UUID | None]):
        self._connection = connection
        self._workspace = workspace

    def _ws(self) -> UUID:
        workspace = self._workspace()
        assert workspace is not None, "lead imports act in a workspace"
        return workspace

    async def add_upload(self, upload: UploadRecord) -> None:
        values = msgspec.structs.asdict(upload)
        values["columns"] = list(upload.columns)
        values["mapping"] = msgspec.to_builtins(upload.mapping)
        await self._connection.execute(insert(lead_uploads).values(**values))

    async def get_upload(self, upload_id: UUID, *, for_update: bool = False) -> UploadRecord | None:
        query = select(lead_uploads).where(
            lead_uploads.c.workspace_id == self._ws(), lead_uploads.c.id == upload_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._connection.execute(query)).first()
        return None if row is None else _upload_from_row(row)

    async def has_active_import(self, upload_id: UUID) -> bool:
        found = await self._connection.execute(
            _ACTIVE_IMPORT, {"ws": self._ws(), "upload_id": upload_id}
        )
        return found.first() is not None

    async def expire_upload(self, upload_id: UUID, now: datetime) -> None:
        await self._connection.execute(
            _EXPIRE_UPLOAD, {"ws": self._ws(), "id": upload_id, "now": now}
        )

    async def release_files(self, upload_ids: Sequence[UUID], now: datetime) -> FileRelease:
        params = {"ws": self._ws(), "ids": list(upload_ids)}
        rows = (await self._connection.execute(_LOCK_RELEASABLE, params)).all()
        if not rows:
            return FileRelease()
        params["ids"] = [row.id for row in rows]
        imported = set((await self._connection.execute(_IMPORTED_UPLOADS, params)).scalars())
        unused = [row.id for row in rows if row.id not in imported]
        kept = [row.id for row in rows if row.id in imported]
        if unused:
            await self._connection.execute(_DELETE_UPLOADS, {**params, "ids": unused})
        if kept:
            await self._connection.execute(_MARK_FILE_DELETED, {**params, "ids": kept, "now": now})
        return FileRelease(
            deleted=len(unused),
            kept=len(kept),
            freed_bytes=sum(max(1, row.size) for row in rows),
        )

    async def add(self, record: ImportRecord) -> None:
        await self._connection.execute(
            insert(lead_imports).values(
                id=record.id,
                workspace_id=record.workspace_id,
                upload_id=record.upload_id,
                mapping=msgspec.to_builtins(record.mapping),
                duplicate_policy=record.duplicate_policy.value,
                tags=list(record.tags),
                chunk_rows=record.chunk_rows,
                created_by=record.created_by,
                created_at=record.created_at,
                **_import_values(record),
            )
        )

    async def get(self, import_id: UUID, *, for_update: bool = False) -> ImportRecord | None:
        query = select(lead_imports).where(
            lead_imports.c.workspace_id == self._ws(), lead_imports.c.id == import_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._connection.execute(query)).first()
        return None if row is None else _import_from_row(row)

    async def exists(self, import_id: UUID) -> bool:
        query = select(lead_imports.c.id).where(
            lead_imports.c.workspace_id == self._ws(), lead_imports.c.id == import_id
        )
        return (await self._connection.execute(query)).first() is not None

    async def latest_for_header(self, labels: Sequence[str]) -> ImportRecord | None:
        # newest first along (workspace_id, id) (ids are UUIDv7); the columns start with the
        # labels, and those past them must be made-up names only (the first is checked here,
        # the rest below: a blank header cell in the middle is made up too)
        if not labels:
            return None
        width = len(labels)
        columns = lead_uploads.c.columns
        query = (
            select(lead_imports, lead_uploads.c.columns.label("upload_columns"))
            .join(
                lead_uploads,
                and_(
                    lead_uploads.c.workspace_id == lead_imports.c.workspace_id,
                    lead_uploads.c.id == lead_imports.c.upload_id,
                ),
            )
            .where(
                lead_imports.c.workspace_id == self._ws(),
                columns[1:width] == list(labels),
                or_(
                    func.cardinality(columns) == width,
                    columns[width + 1] == f"column_{width + 1}",
                ),
            )
            .order_by(lead_imports.c.id.desc())
            .limit(_HEADER_CANDIDATES)
        )
        for row in await self._connection.execute(query):
            if header_labels(row.upload_columns) == list(labels):
                return _import_from_row(row)
        return None

    async def recent(
        self, *, limit: int, before: UUID | None
    ) -> list[tuple[ImportRecord, str | None]]:
        query = (
            select(lead_imports, lead_uploads.c.filename.label("upload_filename"))
            .join(lead_uploads, lead_uploads.c.id == lead_imports.c.upload_id)
            .where(lead_imports.c.workspace_id == self._ws())
            .order_by(lead_imports.c.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(lead_imports.c.id < before)
        rows = await self._connection.execute(query)
        return [(_import_from_row(row), row.upload_filename) for row in rows]

    async def save(self, record: ImportRecord) -> None:
        await self._connection.execute(
            update(lead_imports)
            .where(lead_imports.c.workspace_id == self._ws(), lead_imports.c.id == record.id)
            .values(**_import_values(record))
        )

    async def matching(self, keys: Sequence[DedupKeys]) -> list[Lead]:
        """One index probe per key, then the leads found, locked one by one in id order through
        the primary key, whatever the statistics say of the workspace:
        - every lookup is a fenced LATERAL subquery (``OFFSET 0``, ``FOR UPDATE``), so the
          planner cannot turn the probes into a hash join over the whole workspace, which it
          picks while the statistics still describe the workspace before a bulk load (500 keys
          against 100k fresh leads: 143 ms a chunk instead of 2);
        - the workspace is compared with a sub-select, a value unknown when planning, so its
          rows are estimated as any workspace's; a workspace the statistics do not know is
          otherwise estimated at a row or two, and a probe may then walk its part of another
          index (``status, created_at``) instead of the key's."""
        emails = sorted({k.email for k in keys if k.email is not None})
        links = sorted({k.linkedin for k in keys if k.linkedin is not None})
        names = sorted({k.name for k in keys if k.name is not None})
        if not (emails or links or names):
            return []
        rows = await self._connection.execute(
            _MATCHING, {"ws": self._ws(), "emails": emails, "links": links, "names": names}
        )
        return [lead_from_row(row) for row in rows]

    async def insert_new(
        self, many: Sequence[NewLead], *, import_id: UUID, source: str, now: datetime
    ) -> int:
        if not many:
            return 0
        workspace = self._ws()
        raw = (await self._connection.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute(_STAGING)
        await raw.copy_records_to_table(
            "import_leads",
            records=list(map(lead_copy_record, many)),
            columns=LEAD_COPY_COLUMNS,
        )
        chunk = {"workspace": workspace, "source": source, "now": now, "import_id": import_id}
        inserted = (await self._connection.execute(_MOVE_LEADS, chunk)).rowcount
        await self._connection.execute(_MOVE_TERMS, {"workspace": workspace})
        if any(new.row.tags for new in many):
            await self._connection.execute(_MOVE_TAGS, {"workspace": workspace})
        return inserted

    async def mark_imported(self, import_id: UUID, lead_ids: Sequence[UUID]) -> None:
        if lead_ids:
            await self._connection.execute(
                update(leads)
                .where(leads.c.workspace_id == self._ws(), leads.c.id.in_(lead_ids))
                .values(import_id=import_id)
            )

    async def add_problems(self, import_id: UUID, problems: Sequence[ImportProblem]) -> None:
        if not problems:
            return
        await self._connection.execute(
            _ADD_PROBLEMS,
            {
                "workspace": self._ws(),
                "import_id": import_id,
                "rows": [p.row for p in problems],
                "seqs": [p.seq for p in problems],
                "columns": [p.column for p in problems],
                "codes": [p.code for p in problems],
                "messages": [p.message for p in problems],
            },
        )

    async def add_matches(self, import_id: UUID, matches: dict[UUID, int]) -> None:
        if not matches:
            return
        workspace = self._ws()
        await self._connection.execute(
            insert(lead_import_matches),
            [
                {"workspace_id": workspace, "import_id": import_id, "lead_id": lead, "row": row}
                for lead, row in matches.items()
            ],
        )

    async def matches(self, import_id: UUID) -> dict[UUID, int]:
        table = lead_import_matches
        rows = await self._connection.execute(
            select(table.c.lead_id, table.c.row).where(
                table.c.workspace_id == self._ws(), table.c.import_id == import_id
            )
        )
        return {row.lead_id: row.row for row in rows}

    async def problems(
        self, import_id: UUID, *, after: tuple[int, int] | None, limit: int
    ) -> list[ImportProblem]:
        table = lead_import_errors
        query = select(table.c.row, table.c.seq, table.c.column, table.c.code, table.c.message)
        query = query.where(table.c.workspace_id == self._ws(), table.c.import_id == import_id)
        if after is not None:
            query = query.where(tuple_(table.c.row, table.c.seq) > tuple_(*after))
        query = query.order_by(table.c.row, table.c.seq).limit(limit)
        return [
            ImportProblem(row.row, row.seq, row.column, row.code, row.message)
            for row in await self._connection.execute(query)
        ]
