"""The ``bulk_import`` job (queue ``data-processing``): an upload's rows into leads, a chunk per
transaction.

Rules:
- rows are prepared (mapped, normalised, scored) in batches of ``chunk_rows``, possibly in
  other processes, a few batches ahead of the database;
- a row is a duplicate of an earlier row of the file that shares a key with it by the dedup
  rules (first occurrence wins), whatever became of that earlier row;
- the other valid rows are resolved against the workspace's leads (deleted ones too), locked
  in id order: none → a new lead; a deleted lead → restored with the row's data; a live lead →
  the duplicate policy (``skip``; ``fill_empty``; ``overwrite``); a lead an earlier row of this
  run already matched → ``duplicate``. A LinkedIn URL that belongs to another lead is never
  written;
- new and restored leads count contacts in row order, as far as the plan allows; the rest are
  ``contact_limit_reached``; nothing is dropped without a report line;
- each chunk is one transaction: the leads (COPY into TEMP tables, one set-based insert), their
  tag and search-term rows, the report lines, the import's progress and counts, and one
  ``LeadsImported`` event. A key taken by another transaction meanwhile (or a deadlock) rolls
  the chunk back and runs it again, resolving against what is there now;
- two chunks are written at once (``WRITERS``), each on its own connection, and commit in file
  order: a chunk resolves after the one before it has (so it knows which leads that one
  matched), writes its leads while that one finishes, then waits for it to commit before
  counting contacts and recording progress. If the one before was planned again meanwhile, or
  the contacts do not all fit, the chunk rolls back and runs again once the one before has
  committed, as it would have alone;
- a file that stops being CSV part way (a quote never closed) is imported up to there; the row
  where it stops is one ``malformed_csv`` line (invalid) and the rest is not read;
- a row with bytes that are not text in the file's encoding (told from its start) in a mapped
  cell is invalid, one ``undecodable_text`` line per such column; one with filled cells past
  the upload's columns is invalid, ``too_many_cells`` (its cells are shifted) (``prepare_row``);
- a failure the runner will not retry (a file that cannot be read at all, the last attempt)
  marks the import ``failed`` with the job's reason; a retried one leaves it ``running``;
- cancel (``POST /leads/imports/{id}/cancel``): a chunk that commits after the import was
  asked to stop is the last; the ones already being written land, and the import ends
  ``cancelled`` with what they committed. A job that starts after the request (or finds the
  import cancelled while queued) reads nothing;
- resume: a redelivered job skips the chunks its import row says are done, re-preparing them
  only to rebuild the in-file duplicate index (preparing is deterministic), and reads back the
  existing leads they matched (written with each chunk), so a crash changes nothing but the
  time it takes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from scaliyo.application.jobs.execution import JobContext, JobError, LeaseLost, failure_of
from scaliyo.application.leads.errors import LeadExists
from scaliyo.application.leads.import_ports import (
    ImportProblem,
    ImportRecord,
    ImportStatus,
    NewLead,
    RowPreparer,
    UploadReader,
    UploadRows,
)
from scaliyo.application.leads.import_rows import PreparedRow, RowProblem, RowRules
from scaliyo.application.leads.workspace_data import icp_of, pipeline_of
from scaliyo.application.shared.blobs import BlobCorrupted, BlobNotFound
from scaliyo.application.shared.ports import Clock, IdFactory, UnitOfWorkFactory
from scaliyo.domain.leads.attributes import LeadSource
from scaliyo.domain.leads.column_mapping import Mapper
from scaliyo.domain.leads.dedup import (
    KEY_KINDS,
    DedupIndex,
    DedupKeys,
    KeyKind,
    KnownLead,
    Outcome,
    dedup_keys,
    resolve,
)
from scaliyo.domain.leads.events import LeadsImported
from scaliyo.domain.leads.imports import DuplicatePolicy, ImportCounts, merge_profile
from scaliyo.domain.leads.lead import Lead
from scaliyo.domain.leads.profile import LeadProfile
from scaliyo.domain.leads.scoring import score
from scaliyo.domain.shared.errors import ValidationFailed
from scaliyo.domain.shared.ids import WorkspaceId
from scaliyo.domain.usage.counters import Metric

IMPORT_JOB_TYPE = "bulk_import"
LOOKAHEAD = 3  # batches being prepared while the database works on one
WRITERS = 2  # chunk transactions open at once
CHUNK_ATTEMPTS = 8
UNREADABLE_UPLOAD = "The uploaded file could not be read from storage; upload it again."
_KEY_FIELDS = {
    KeyKind.EMAIL: "email",
    KeyKind.LINKEDIN: "linkedin_url",
    KeyKind.NAME: "last_name",
}
# serialization failure, deadlock, a key taken by another transaction since the chunk resolved
_RETRYABLE_SQLSTATES = {"40001", "40P01", "23505"}


class ImportJobParams(msgspec.Struct, frozen=True, kw_only=True):
    import_id: UUID


class ChunkRace(Exception):
    """Another transaction took a key (or deadlocked with) this chunk, or the chunk before it was
    planned again: run it again."""


class _EarlierChunkFailed(Exception):
    """The chunk before this one failed for good; this one rolls back and stops."""


class _CancelRequested(Exception):
    """A chunk committed after the import was asked to stop: no more are written."""


def import_result(record: ImportRecord) -> dict[str, Any]:
    return {
        "import_id": str(record.id),
        "status": record.status,
        **msgspec.to_builtins(record.counts),
    }


async def run_import_job(
    job: JobContext,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    ids: IdFactory,
    reader: UploadReader,
    preparer: RowPreparer,
) -> dict[str, Any]:
    try:
        params = msgspec.convert(job.params, ImportJobParams)
    except msgspec.ValidationError as error:
        raise JobError(f"The job's parameters are not valid: {error}", retryable=False) from None
    workspace = WorkspaceId(job.workspace_id)
    now = clock.now()
    async with uow_factory(workspace) as uow:
        record = await uow.lead_imports.get(params.import_id, for_update=True)
        if record is None:
            raise JobError("The import does not exist.", retryable=False)
        if record.status in (ImportStatus.COMPLETED, ImportStatus.CANCELLED):
            return import_result(record)
        if record.cancel_requested_at is not None:  # asked to stop before this attempt
            record.status = ImportStatus.CANCELLED
            record.finished_at = now
            await uow.lead_imports.save(record)
            await uow.commit()
            return import_result(record)
        upload = await uow.lead_imports.get_upload(record.upload_id)
        assert upload is not None  # an import goes with its upload (ON DELETE CASCADE)
        fields = await uow.custom_fields.get()
        icp, _ = await icp_of(uow)
        pipeline = await pipeline_of(uow, ids)
        if record.status != ImportStatus.RUNNING:
            record.status = ImportStatus.RUNNING
            record.started_at = record.started_at or now
            await uow.lead_imports.save(record)
        await uow.commit()
    rules = RowRules(
        choices=record.mapping,
        fields=fields,
        icp=icp,
        tags=record.tags,
        now=record.created_at,
        width=len(upload.columns),
    )
    try:
        rows = await reader.open(upload)
    except Exception as error:
        reason, retryable = _reading_failure(error)
        if not retryable or job.attempt >= job.max_attempts:
            await _finish(uow_factory, workspace, record.id, clock.now(), error=reason)
        if not retryable:
            raise JobError(reason, retryable=False) from None
        raise  # storage unreachable for now: another attempt may read the file
    cancelled = False
    try:
        importer = _Importer(
            job=job,
            uow_factory=uow_factory,
            clock=clock,
            ids=ids,
            workspace=workspace,
            record=record,
            rules=rules,
            status=pipeline.first.id,
        )
        await importer.run(rows, preparer)
    except _CancelRequested:
        cancelled = True
    except LeaseLost:
        raise  # another worker runs the import now
    except Exception as error:
        reason, retryable = failure_of(error)  # as the runner will judge it
        if not retryable or job.attempt >= job.max_attempts:
            await _finish(uow_factory, workspace, record.id, clock.now(), error=reason)
        raise
    finally:
        await rows.close()
    record = await _finish(uow_factory, workspace, record.id, clock.now(), cancelled=cancelled)
    return import_result(record)


def _reading_failure(error: Exception) -> tuple[str, bool]:
    """Why an upload could not be read, and whether another attempt may read it: a file gone
    from storage or not matching its digest stays so; storage that cannot answer may later."""
    if isinstance(error, BlobNotFound | BlobCorrupted):
        return UNREADABLE_UPLOAD, False
    reason, retryable = failure_of(error)
    return (UNREADABLE_UPLOAD if retryable else reason), retryable


async def _finish(
    uow_factory: UnitOfWorkFactory,
    workspace: WorkspaceId,
    import_id: UUID,
    now: datetime,
    *,
    error: str | None = None,
    cancelled: bool = False,
) -> ImportRecord:
    async with uow_factory(workspace) as uow:
        record = await uow.lead_imports.get(import_id, for_update=True)
        assert record is not None
        if error:
            record.status = ImportStatus.FAILED
        else:
            record.status = ImportStatus.CANCELLED if cancelled else ImportStatus.COMPLETED
        record.error = error
        record.finished_at = now
        await uow.lead_imports.save(record)
        await uow.commit()
    return record


async def _prepared(
    rows: UploadRows, preparer: RowPreparer, rules: RowRules, size: int
) -> AsyncIterator[list[PreparedRow]]:
    """Prepared batches in file order, ``LOOKAHEAD`` batches prepared ahead."""
    pending: deque[asyncio.Task[list[PreparedRow]]] = deque()
    try:
        async for batch in rows.batches(size):
            pending.append(asyncio.ensure_future(preparer.prepare(rules, batch)))
            if len(pending) > LOOKAHEAD:
                yield await pending.popleft()
        while pending:
            yield await pending.popleft()
    finally:
        for task in pending:
            task.cancel()


class _Importer:
    def __init__(
        self,
        *,
        job: JobContext,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        ids: IdFactory,
        workspace: WorkspaceId,
        record: ImportRecord,
        rules: RowRules,
        status: UUID,
    ) -> None:
        self._job = job
        self._uow_factory = uow_factory
        self._clock = clock
        self._ids = ids
        self._workspace = workspace
        self._import_id = record.id
        self._policy = record.duplicate_policy
        self._chunk_rows = record.chunk_rows
        self._resume_at = record.rows_done
        self._rules = rules
        self._status = status
        self._mapper = Mapper(list(rules.choices))
        self._index = DedupIndex()
        self._touched: dict[UUID, int] = {}  # lead id → the row of this run that matched it
        self._done = 0  # data rows gone through (replayed or written)
        self._saved_total: int | None = None

    async def run(self, rows: UploadRows, preparer: RowPreparer) -> None:
        """Import every chunk not yet committed. The rows are counted meanwhile: the total is
        reported and stored once known, and always before the end."""
        if self._resume_at:
            async with self._uow_factory(self._workspace) as uow:
                self._touched = await uow.lead_imports.matches(self._import_id)
        await self._job.report_progress(self._resume_at, rows.total)
        writing: deque[tuple[_Chunk, asyncio.Task[None]]] = deque()
        previous: _Chunk | None = None
        try:
            async for prepared in _prepared(rows, preparer, self._rules, self._chunk_rows):
                chunk = self._chunk(prepared, previous)
                if chunk is None:
                    continue  # committed before a crash: only the in-file index was rebuilt
                writing.append((chunk, asyncio.ensure_future(self._write_chunk(chunk))))
                previous = chunk
                while len(writing) >= WRITERS:
                    await self._written(writing.popleft(), rows)
            while writing:
                await self._written(writing.popleft(), rows)
            if rows.broken is not None:  # the rest of the file is one report line
                problem = RowProblem(
                    None, "malformed_csv", f"{rows.broken.message} The rest was not read."
                )
                broken = [PreparedRow(row=rows.broken.row, problems=(problem,))]
                chunk = self._chunk(broken, previous)
                if chunk is not None:
                    await self._write_chunk(chunk)
            await self._save_total(await rows.counted())
        except BaseException as error:
            # chunks already being written still land (a resumed run skips them), unless the
            # job itself is being cancelled
            if isinstance(error, asyncio.CancelledError):
                for _, task in writing:
                    task.cancel()
            await asyncio.gather(*(task for _, task in writing), return_exceptions=True)
            raise

    async def _written(self, writing: tuple[_Chunk, asyncio.Task[None]], rows: UploadRows) -> None:
        chunk, task = writing
        await task
        done = chunk.start + len(chunk.prepared)
        total = rows.total
        if total is not None and self._saved_total != total:
            await self._save_total(total)
        await self._job.report_progress(done, None if total is None else max(total, done))
        if chunk.stop:
            raise _CancelRequested()

    def _chunk(self, prepared: list[PreparedRow], previous: _Chunk | None) -> _Chunk | None:
        candidates, counts, problems = self._in_file(prepared)
        start = self._done
        self._done += len(prepared)
        if self._done <= self._resume_at:
            return None
        return _Chunk(prepared, start, candidates, counts, problems, previous)

    async def _save_total(self, total: int) -> None:
        if self._saved_total == total:
            return
        self._saved_total = total
        async with self._uow_factory(self._workspace) as uow:
            record = await uow.lead_imports.get(self._import_id, for_update=True)
            assert record is not None
            if record.total_rows != total:
                record.total_rows = total
                await uow.lead_imports.save(record)
                await uow.commit()

    def _in_file(
        self, prepared: list[PreparedRow]
    ) -> tuple[list[PreparedRow], ImportCounts, list[ImportProblem]]:
        """Invalid rows and duplicates of earlier rows of the file; the rest are candidates."""
        counts = ImportCounts()
        problems: list[ImportProblem] = []
        candidates: list[PreparedRow] = []
        for row in prepared:
            if row.profile is None or row.keys is None:
                counts.invalid += 1
                problems.extend(
                    ImportProblem(row.row, seq, problem.column, problem.code, problem.message)
                    for seq, problem in enumerate(row.problems)
                )
                continue
            found = self._index.resolve(row.keys)
            if found.outcome is not Outcome.NEW:
                assert found.lead_id is not None
                assert found.matched_by is not None
                counts.duplicates += 1
                problems.append(
                    self._problem(
                        row,
                        found.matched_by,
                        "duplicate",
                        f"The same lead as row {found.lead_id}; the first occurrence is imported.",
                    )
                )
                continue
            self._index.add(KnownLead(lead_id=row.row, keys=row.keys))
            candidates.append(row)
        return candidates, counts, problems

    def _problem(self, row: PreparedRow, key: KeyKind, code: str, message: str) -> ImportProblem:
        return ImportProblem(row.row, 0, self._mapper.column_of(_KEY_FIELDS[key]), code, message)

    async def _write_chunk(self, chunk: _Chunk) -> None:
        try:
            await self._write_attempts(chunk)
            chunk.committed = True
        finally:
            chunk.resolved.set()
            chunk.finished.set()
            chunk.previous = None  # what it holds can go

    async def _write_attempts(self, chunk: _Chunk) -> None:
        for attempt in range(1, CHUNK_ATTEMPTS + 1):
            previous = chunk.previous
            if previous is not None:
                # a first try resolves once the chunk before has; a retry waits for its commit
                alone = attempt > 1 or previous.replanned.is_set()
                await (previous.finished if alone else previous.resolved).wait()
            try:
                await self._transaction(chunk)
                return
            except (ChunkRace, LeadExists):
                if attempt == CHUNK_ATTEMPTS:
                    raise JobError("Other writes kept taking this chunk's keys.") from None
            except Exception as error:
                if _sqlstate(error) not in _RETRYABLE_SQLSTATES or attempt == CHUNK_ATTEMPTS:
                    raise
            chunk.replanned.set()  # a chunk written behind this one must not wait for it

    async def _transaction(self, chunk: _Chunk) -> None:
        now = self._clock.now()
        previous = chunk.previous
        if previous is not None and previous.finished.is_set():
            if not previous.committed:
                raise _EarlierChunkFailed()
            previous = None
        pending = {} if previous is None else dict(previous.touched)
        async with self._uow_factory(self._workspace) as uow:
            record = await uow.lead_imports.get(self._import_id)
            assert record is not None
            if record.rows_done > chunk.start:
                return  # done by a run that lost its lease after committing
            counts = msgspec.structs.replace(chunk.counts)
            problems = list(chunk.problems)
            plan = await self._resolve(uow, chunk.candidates, counts, problems, now, pending)
            chunk.touched = plan.touched
            chunk.resolved.set()
            if previous is None:
                admitted = await _admit(uow, plan.admit, now)
                new, restored = await self._write_leads(uow, plan, admitted, now)
            else:  # write first; count contacts once the chunk before has committed
                new, restored = await self._write_leads(uow, plan, plan.admit, now)
                await _first(previous.finished, previous.replanned)
                if previous.replanned.is_set():
                    raise ChunkRace()  # planned against a plan of it that may be gone
                if not previous.committed:
                    raise _EarlierChunkFailed()
                admitted = await _admit(uow, plan.admit, now)
                if len(admitted) < len(plan.admit):
                    raise ChunkRace()  # run again alone, admitting before writing
            for row in plan.admit[len(admitted) :]:
                counts.limit_reached += 1
                problems.append(
                    ImportProblem(
                        row.row,
                        0,
                        None,
                        "contact_limit_reached",
                        "The workspace's contact limit is reached; upgrade the plan to import "
                        "more leads.",
                    )
                )
            record = await uow.lead_imports.get(self._import_id, for_update=True)
            assert record is not None
            if record.rows_done > chunk.start:
                return  # as above, meanwhile
            if record.rows_done < chunk.start:
                raise JobError("The import's progress is behind this run; starting over.")
            await uow.leads.save_many(plan.updated)
            counts.created += len(new) + len(restored)
            counts.updated += len(plan.updated)
            problems.sort(key=lambda p: (p.row, p.seq))
            await uow.lead_imports.add_problems(self._import_id, problems)
            await uow.lead_imports.add_matches(self._import_id, plan.touched)
            record.rows_done = chunk.start + len(chunk.prepared)
            record.counts = record.counts.plus(counts)
            await uow.lead_imports.save(record)
            chunk.stop = record.cancel_requested_at is not None
            uow.record(
                LeadsImported(
                    workspace_id=self._workspace,
                    aggregate_id=self._import_id,
                    first_row=chunk.prepared[0].row,
                    last_row=chunk.prepared[-1].row,
                    created=(*(n.id for n in new), *(lead.id for lead in restored)),
                    updated=tuple(lead.id for lead in plan.updated),
                )
            )
            await uow.commit()
        self._touched.update(plan.touched)

    async def _write_leads(
        self, uow: Any, plan: _Plan, admitted: list[PreparedRow], now: datetime
    ) -> tuple[list[NewLead], list[Lead]]:
        """The new and restored leads among ``admitted``."""
        rows = {row.row for row in admitted}
        new = [
            NewLead(id=self._ids.new(), status=self._status, row=row)
            for row in plan.new
            if row.row in rows
        ]
        restored = [lead for row, lead in plan.restored if row.row in rows]
        inserted = await uow.lead_imports.insert_new(
            new, import_id=self._import_id, source=LeadSource.CSV.value, now=now
        )
        if inserted != len(new):
            raise ChunkRace()
        await uow.leads.save_many(restored)
        await uow.lead_imports.mark_imported(self._import_id, [lead.id for lead in restored])
        return new, restored

    async def _resolve(
        self,
        uow: Any,
        candidates: list[PreparedRow],
        counts: ImportCounts,
        problems: list[ImportProblem],
        now: datetime,
        pending: dict[UUID, int],
    ) -> _Plan:
        """``pending``: the leads the chunk before matched, if it has not committed yet."""
        plan = _Plan()
        existing: list[Lead] = await uow.lead_imports.matching([row.keys for row in candidates])
        index = _LeadIndex(existing)
        for row in candidates:
            assert row.keys is not None
            assert row.profile is not None
            found = resolve(row.keys, index.known(row.keys))
            if found.outcome is Outcome.NEW:
                plan.new.append(row)
                plan.admit.append(row)
                continue
            assert found.lead_id is not None
            assert found.matched_by is not None
            lead = index.by_id[found.lead_id]
            earlier = (
                self._touched.get(lead.id) or pending.get(lead.id) or plan.touched.get(lead.id)
            )
            if earlier is not None:
                counts.duplicates += 1
                problems.append(
                    self._problem(
                        row,
                        found.matched_by,
                        "duplicate",
                        f"The same lead as row {earlier}; the first occurrence is imported.",
                    )
                )
                continue
            plan.touched[lead.id] = row.row
            incoming = row.profile
            if KeyKind.LINKEDIN in found.withheld:
                incoming = msgspec.structs.replace(incoming, linkedin_url=lead.profile.linkedin_url)
            if lead.is_deleted:
                plan.restored.append((row, self._restored(lead, incoming, row, now)))
                plan.admit.append(row)
                continue
            changed = self._merged(lead, incoming, row, found.withheld, now)
            if changed is None:
                counts.invalid += 1
                problems.append(
                    ImportProblem(row.row, 0, None, "too_many_tags", "At most 100 tags per lead.")
                )
            elif changed == lead:
                counts.duplicates += 1
                message = (
                    "Matches an existing lead; left as it is (duplicate policy skip)."
                    if self._policy is DuplicatePolicy.SKIP
                    else "Matches an existing lead that already has this data."
                )
                problems.append(self._problem(row, found.matched_by, "lead_exists", message))
            else:
                plan.updated.append(changed)
        plan.admit.sort(key=lambda row: row.row)
        return plan

    def _restored(self, lead: Lead, incoming: LeadProfile, row: PreparedRow, now: datetime) -> Lead:
        lead, _ = lead.restore(now)
        lead, _ = lead.update_profile(incoming, now)
        with contextlib.suppress(ValidationFailed):  # tags past the cap stay off; data counts
            lead, _ = lead.add_tags(row.tags, now)
        return self._scored(lead)

    def _merged(
        self,
        lead: Lead,
        incoming: LeadProfile,
        row: PreparedRow,
        withheld: frozenset[KeyKind],
        now: datetime,
    ) -> Lead | None:
        if self._policy is DuplicatePolicy.SKIP:
            return lead
        merged = merge_profile(lead.profile, incoming, self._policy, withheld=withheld)
        changed, _ = lead.update_profile(merged, now)
        try:
            changed, _ = changed.add_tags(row.tags, now)
        except ValidationFailed:
            return None
        return self._scored(changed)

    def _scored(self, lead: Lead) -> Lead:
        result = score(lead.profile, self._rules.icp, (), self._rules.now)
        lead, _ = lead.rescore(result)
        return lead


class _Chunk:
    """A batch of rows on its way to the database, and where its transaction is."""

    def __init__(
        self,
        prepared: list[PreparedRow],
        start: int,
        candidates: list[PreparedRow],
        counts: ImportCounts,
        problems: list[ImportProblem],
        previous: _Chunk | None,
    ) -> None:
        self.prepared = prepared
        self.start = start  # data rows before it
        self.candidates = candidates
        self.counts = counts  # in-file ones
        self.problems = problems
        self.previous = previous
        self.touched: dict[UUID, int] = {}  # its plan's: existing lead id → row
        self.resolved = asyncio.Event()  # planned (``touched`` is known), or given up
        self.replanned = asyncio.Event()  # an attempt failed: its plan may change
        self.finished = asyncio.Event()
        self.committed = False
        self.stop = False  # it committed after the import was asked to stop


class _Plan:
    def __init__(self) -> None:
        self.new: list[PreparedRow] = []
        self.restored: list[tuple[PreparedRow, Lead]] = []
        self.updated: list[Lead] = []
        self.admit: list[PreparedRow] = []  # new and restored, counted as contacts in row order
        self.touched: dict[UUID, int] = {}


class _LeadIndex:
    """Existing leads by key, to resolve a chunk's rows without a query per row."""

    def __init__(self, existing: list[Lead]) -> None:
        self.by_id = {lead.id: lead for lead in existing}
        self._keys: dict[tuple[KeyKind, str], list[KnownLead]] = {}
        for lead in existing:
            keys = dedup_keys(lead.profile)
            known = KnownLead(lead_id=lead.id, keys=keys)
            for kind in KEY_KINDS:
                value = keys.get(kind)
                if value is not None:
                    self._keys.setdefault((kind, value), []).append(known)

    def known(self, keys: DedupKeys) -> list[KnownLead]:
        found: dict[UUID, KnownLead] = {}
        for kind in KEY_KINDS:
            value = keys.get(kind)
            if value is not None:
                for known in self._keys.get((kind, value), ()):
                    found[known.lead_id] = known
        return list(found.values())


async def _admit(uow: Any, rows: list[PreparedRow], now: datetime) -> list[PreparedRow]:
    if not rows:
        return []
    room = await uow.limits.admit_up_to(Metric.CONTACTS, len(rows), at=now)
    return rows[:room]


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a database error (SQLAlchemy wraps the driver's, which may wrap
    asyncpg's)."""
    orig = getattr(error, "orig", None)
    for candidate in (error, orig, getattr(orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None
