"""Lead imports under crashes and races: a worker SIGKILLed mid-import ends with the counts of
an uninterrupted run; two imports racing for the last contacts never pass the limit; and, for
any generated file, every row is accounted for once and importing twice changes nothing."""

from __future__ import annotations

import asyncio
import string
from datetime import UTC, datetime
from uuid import UUID

import msgspec
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.blobs.nats_object_store import NatsObjectStore
from scaliyo.adapters.ids import new_id
from scaliyo.adapters.imports.row_workers import InlinePreparer
from scaliyo.adapters.messaging.connection import connect_nats
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.adapters.queue import lead_jobs
from scaliyo.application.jobs.execution import INTERNAL_ERROR, JobError
from scaliyo.application.leads.errors import ImportFinished
from scaliyo.application.leads.import_commands import (
    CancelImport,
    ImportRequest,
    RegisterUpload,
    StartImport,
)
from scaliyo.application.shared.blobs import (
    BlobCorrupted,
    BlobNotFound,
    BlobStorageUnavailable,
)
from scaliyo.domain.jobs.job import Queue
from scaliyo.domain.usage.counters import Metric
from tests.integration.helpers.identity import as_user
from tests.integration.helpers.imports import (
    MemoryUploads,
    counts_of,
    csv_bytes,
    import_bus,
    import_row,
    lead_snapshot,
    owner_rows,
    register_memory_upload,
    run_memory_import,
    start_memory_import,
)
from tests.integration.helpers.imports import (
    run_import_job as run_queued_import,
)
from tests.integration.helpers.jobs_processes import Processes, eventually
from tests.integration.helpers.leads import count_rows, leads_workspace

FAST = {
    "SCALIYO_JOB_LEASE_SECONDS": "5",
    "SCALIYO_JOB_ACK_WAIT_SECONDS": "3",
    "SCALIYO_WORKER_SHUTDOWN_GRACE_SECONDS": "2",
}


def generated_file(rows: int, *, prefix: str = "p") -> bytes:
    """Apollo-like rows: every tenth repeats an earlier email in other case and spacing,
    every 37th is invalid."""
    table = [["First Name", "Last Name", "Company", "Email", "Person Linkedin Url"]]
    for i in range(rows):
        if i % 37 == 36:
            table.append(["No", "Identity", "", "", ""])
        elif i % 10 == 9:
            table.append(["Dup", str(i), "", f"  {prefix.upper()}{i - 5}@Example.COM ", ""])
        else:
            table.append(
                [f"Person{i}", f"Family{i}", f"Co {i % 50}", f"{prefix}{i}@example.com", ""]
            )
    return csv_bytes(table)


async def queue_import(database, nc, workspace_id, owner, body: bytes, *, chunk_rows: int):
    """Store a file, register it and start its import through the bus; (import id, job id)."""
    bus = import_bus(database, chunk_rows=chunk_rows)
    context = as_user(owner, workspace_id, "owner")
    blobs = NatsObjectStore(nc.jetstream())
    upload_id = new_id()

    async def chunks():
        yield body

    ref = await blobs.put(workspace_id, "upload", str(upload_id), chunks())
    await bus.execute(
        RegisterUpload(
            upload_id=str(upload_id),
            blob_key=ref.key,
            filename="generated.csv",
            size=ref.size,
            sha256=ref.sha256,
            sample=body[: 1024 * 1024],
            complete=len(body) <= 1024 * 1024,
        ),
        context,
    )
    started = await bus.execute(
        StartImport(request=ImportRequest(upload_id=str(upload_id))), context
    )
    return started.import_id, started.job_id


@pytest.mark.slow
async def test_a_worker_killed_mid_import_ends_with_the_counts_of_an_uninterrupted_run(
    settings, database: Database, owner_engine: AsyncEngine, nats_url, tmp_path
):
    body = generated_file(3000)
    nc = await connect_nats(nats_url, name="import-crash-test")
    processes = Processes(settings, tmp_path)
    try:
        calm_ws, _, calm_owner = await leads_workspace(database, owner_engine, "Import calm")
        calm_id, calm_job = await queue_import(
            database, nc, calm_ws, calm_owner, body, chunk_rows=10
        )
        assert (await run_queued_import(database, nc, calm_ws, calm_job)).ack
        calm = await import_row(owner_engine, calm_id)
        assert calm.status == "completed"

        workspace_id, _, owner = await leads_workspace(database, owner_engine, "Import crash")
        doomed = processes.worker([Queue.DATA_PROCESSING], FAST, name="doomed")
        import_id, _ = await queue_import(database, nc, workspace_id, owner, body, chunk_rows=10)

        async def well_under_way():
            row = await import_row(owner_engine, import_id)
            return row if row.rows_done >= 300 else None

        before_kill = await eventually(well_under_way, within=60)
        doomed.kill()
        processes.worker([Queue.DATA_PROCESSING], FAST, name="survivor")

        async def finished():
            row = await import_row(owner_engine, import_id)
            return row if row.status in {"completed", "failed"} else None

        done = await eventually(finished, within=120)
    finally:
        processes.stop_all()
        await nc.close()
    assert done.status == "completed", processes.logs()
    assert before_kill.rows_done < done.rows_done == calm.rows_done == 2999 + 1
    assert counts_of(done) == counts_of(calm)
    sql = "SELECT count(*) FROM leads WHERE workspace_id = :ws"
    assert await count_rows(owner_engine, sql, ws=workspace_id) == calm.created
    errors = "SELECT count(*) FROM lead_import_errors WHERE import_id = :id"
    assert await count_rows(owner_engine, errors, id=UUID(import_id)) == await count_rows(
        owner_engine, errors, id=UUID(calm_id)
    )


@pytest.fixture
async def wide_database(settings):
    database = Database.connect(msgspec.structs.replace(settings, db_pool_size=12))
    yield database
    await database.dispose()


async def race(database, owner_engine, nats_url, workspace_id, owner, bodies) -> list:
    """Import the files at once (chunks of 7 rows, one job each); their finished import rows."""
    nc = await connect_nats(nats_url, name="import-race-test")
    try:
        queued = [
            await queue_import(database, nc, workspace_id, owner, body, chunk_rows=7)
            for body in bodies
        ]
        settlements = await asyncio.gather(
            *(run_queued_import(database, nc, workspace_id, job) for _, job in queued)
        )
    finally:
        await nc.close()
    assert all(s.ack for s in settlements)
    return [await import_row(owner_engine, import_id) for import_id, _ in queued]


async def test_two_imports_racing_for_the_last_contacts_never_pass_the_limit(
    wide_database, owner_engine, nats_url
):
    database = wide_database
    workspace_id, _, owner = await leads_workspace(database, owner_engine, "Import race")
    async with SqlUnitOfWork(database.app, workspace_id) as uow:
        await uow.limits.set_used(Metric.CONTACTS, 1000 - 50, at=datetime.now(UTC))
        await uow.commit()
    first = csv_bytes([["email"], *([f"a{i}@race.example"] for i in range(60))])
    second = csv_bytes(
        [["email"], *([f"b{i}@race.example"] for i in range(40))]
        + [[f"a{i}@race.example"] for i in range(20)]
    )
    rows = await race(database, owner_engine, nats_url, workspace_id, owner, (first, second))
    assert sum(row.created for row in rows) == 50
    for row in rows:
        assert row.status == "completed"
        assert sum(counts_of(row)) == 60
    total = "SELECT count(*) FROM leads WHERE workspace_id = :ws"
    assert await count_rows(owner_engine, total, ws=workspace_id) == 50
    used = "SELECT used FROM usage_counters WHERE workspace_id = :ws AND metric = 'contacts'"
    assert await count_rows(owner_engine, used, ws=workspace_id) == 1000
    refused = (
        "SELECT count(*) FROM lead_import_errors WHERE workspace_id = :ws"
        " AND code = 'contact_limit_reached'"
    )
    assert await count_rows(owner_engine, refused, ws=workspace_id) == sum(
        row.limit_reached for row in rows
    )


async def test_two_imports_of_the_same_people_make_each_lead_once(
    wide_database, owner_engine, nats_url
):
    """Both files hold the same 120 people (other order and case): whichever chunk inserts a
    key first wins it; the other import's chunk that lost the race runs again and finds it."""
    database = wide_database
    workspace_id, _, owner = await leads_workspace(database, owner_engine, "Import same keys")
    people = [f"p{i}@same.example" for i in range(120)]
    bodies = (
        csv_bytes([["email"], *([email] for email in people)]),
        csv_bytes([["email"], *([email.upper()] for email in reversed(people))]),
    )
    rows = await race(database, owner_engine, nats_url, workspace_id, owner, bodies)
    assert sum(row.created for row in rows) == 120
    for row in rows:
        assert row.status == "completed"
        assert sum(counts_of(row)) == 120
    total = "SELECT count(*) FROM leads WHERE workspace_id = :ws"
    assert await count_rows(owner_engine, total, ws=workspace_id) == 120


def _email(n: int, upper: bool, pad: int) -> str:
    email = f"u{n}@x.example"
    return " " * pad + (email.upper() if upper else email)


# "¤" stands for a byte that is not UTF-8 (written as 0xFF in the file)
_names = st.text(alphabet=string.ascii_letters + "éü -¤", min_size=0, max_size=8)
_extra = st.lists(st.sampled_from(["", " ", "x"]), max_size=2)  # cells past the header's
_cells = st.tuples(
    _names,  # first name
    _names,  # last name
    st.sampled_from(["", "acme.example", "globex.example", "ACME.example "]),  # website
    st.one_of(  # email: from a small pool, so that repeats (in other case and spacing) happen
        st.just(""),
        st.just("not an email"),
        st.builds(
            lambda n, upper, pad: (
                (" " * pad) + (f"u{n}@x.example".upper() if upper else f"u{n}@x.example")
            ),
            st.integers(0, 12),
            st.booleans(),
            st.integers(0, 2),
        ),
    ),
    st.sampled_from(
        ["", "https://www.linkedin.com/in/p1", "linkedin.com/in/P1/", "https://linkedin.com/in/p2"]
    ),
)


@pytest.mark.slow
@hsettings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(st.tuples(_cells, _extra), min_size=1, max_size=40),
    chunk=st.integers(1, 9),
    sampled=st.booleans(),
)
async def test_every_row_is_accounted_for_once_and_a_second_import_changes_nothing(
    database, owner_engine, rows, chunk, sampled
):
    """Whatever the rows hold (duplicates in other case and spacing, bad emails, bytes that
    are not UTF-8, cells past the header's), each has one outcome. ``sampled``: detection
    sees the header only, as with a file past its first MiB."""
    workspace_id, _, owner = await leads_workspace(database, owner_engine, "Import property")
    records = [[*cells, *extra] for cells, extra in rows]
    header = csv_bytes([["First Name", "Last Name", "Website", "Email", "LinkedIn"]])
    body = header + csv_bytes(records).replace("¤".encode(), b"\xff")
    data_rows = sum(1 for row in records if any(cell.strip() for cell in row))
    uploads = MemoryUploads()
    bus = import_bus(database, chunk_rows=chunk)
    context = as_user(owner, workspace_id, "owner")
    try:
        upload_id = await register_memory_upload(
            bus, context, uploads, body, sample=header if sampled else None
        )
    except Exception as error:  # a file of nothing but blank or identity-less rows
        assert getattr(error, "code", None) in {"no_data_rows", "no_identity_column"}
        return
    snapshots = []
    for _ in range(2):
        started = await bus.execute(
            StartImport(request=ImportRequest(upload_id=str(upload_id))), context
        )
        result = await run_memory_import(database, workspace_id, started.import_id, uploads)
        counted = [
            result[name]
            for name in ("created", "updated", "duplicates", "invalid", "limit_reached")
        ]
        assert sum(counted) == data_rows
        snapshots.append(await lead_snapshot(owner_engine, workspace_id))
        if len(snapshots) == 2:
            assert result["created"] == 0
            assert result["updated"] == 0
    assert snapshots[0] == snapshots[1]


class FailingPreparer(InlinePreparer):
    """Prepares ``good`` batches, then fails as a bug (or a dying worker) would."""

    def __init__(self, good: int = 1) -> None:
        self.good = good
        self.batches = 0

    async def prepare(self, rules, records):
        self.batches += 1
        if self.batches > self.good:
            raise RuntimeError("a bug")
        return await super().prepare(rules, records)


class CancellingPreparer(InlinePreparer):
    """Asks for the import to stop, as its user would, while batch ``at`` is prepared."""

    def __init__(self, cancel, at: int) -> None:
        self.cancel = cancel
        self.at = at
        self.batches = 0

    async def prepare(self, rules, records):
        self.batches += 1
        if self.batches == self.at:
            await self.cancel()
        return await super().prepare(rules, records)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
async def test_a_cancelled_import_stops_and_accounts_for_every_row_it_went_through(
    database, owner_engine
):
    """Queued: cancelled at once, its job reads nothing. Running: the chunk that commits after
    the request is the last (those being written land); every row gone through has one outcome
    and the rest are not read; its leads carry the import's id; asking again or a redelivered
    job changes nothing; a completed import is 409 ``import_finished``."""
    workspace_id, _, owner = await leads_workspace(database, owner_engine, "Import cancel")
    body = generated_file(200)
    uploads = MemoryUploads()
    bus = import_bus(database, chunk_rows=20)
    context = as_user(owner, workspace_id, "owner")

    queued = await start_memory_import(bus, context, uploads, body)
    view = await bus.execute(CancelImport(import_id=queued), context)
    assert (view.status, view.progress.processed) == ("cancelled", 0)
    untouched = await run_memory_import(
        database, workspace_id, queued, uploads, FailingPreparer(good=0)
    )
    assert untouched["status"] == "cancelled"
    assert await count_rows(owner_engine, "SELECT count(*) FROM leads WHERE workspace_id = :ws",
                            ws=workspace_id) == 0  # fmt: skip

    running = await start_memory_import(bus, context, uploads, body)

    async def cancel() -> None:
        asked = await bus.execute(CancelImport(import_id=running), context)
        assert asked.status == "running" and asked.cancel_requested_at is not None

    result = await run_memory_import(
        database, workspace_id, running, uploads, CancellingPreparer(cancel, at=3)
    )
    row = await import_row(owner_engine, running)
    assert (result["status"], row.status) == ("cancelled", "cancelled")
    assert 0 < row.rows_done < 200 and row.rows_done % 20 == 0
    assert sum(counts_of(row)) == row.rows_done
    made = await count_rows(
        owner_engine, "SELECT count(*) FROM leads WHERE import_id = :i", i=UUID(running)
    )
    assert made == row.created > 0
    last_row = await count_rows(
        owner_engine,
        "SELECT coalesce(max(row), 0) FROM lead_import_errors WHERE import_id = :i",
        i=UUID(running),
    )
    assert last_row <= row.rows_done + 1  # the header is row 1: nothing past what it read
    before = await lead_snapshot(owner_engine, workspace_id)

    again = await bus.execute(CancelImport(import_id=running), context)
    assert again.status == "cancelled"
    await run_memory_import(database, workspace_id, running, uploads, attempt=2)
    assert counts_of(await import_row(owner_engine, running)) == counts_of(row)
    assert await lead_snapshot(owner_engine, workspace_id) == before

    done = await start_memory_import(bus, context, uploads, generated_file(5, prefix="d"))
    await run_memory_import(database, workspace_id, done, uploads)
    with pytest.raises(ImportFinished):
        await bus.execute(CancelImport(import_id=done), context)


async def test_an_import_whose_last_attempt_fails_is_marked_failed(database, owner_engine):
    """An unexpected error leaves the import running while the job has attempts left (the
    retry resumes it); on the last attempt the import is failed with the job's reason."""
    workspace_id, _, owner = await leads_workspace(database, owner_engine, "Import bug")
    body = csv_bytes([["email"], *([f"ok{i}@bug.example"] for i in range(20))])
    uploads = MemoryUploads()
    bus = import_bus(database, chunk_rows=5)
    context = as_user(owner, workspace_id, "owner")
    import_id = await start_memory_import(bus, context, uploads, body)
    for attempt, status in ((1, "running"), (2, "failed")):
        with pytest.raises(RuntimeError):
            await run_memory_import(
                database, workspace_id, import_id, uploads, FailingPreparer(), attempt=attempt
            )
        row = await import_row(owner_engine, import_id)
        assert row.status == status
        assert row.rows_done == 5  # the first chunk landed and stays
    assert row.error == INTERNAL_ERROR.format(name="RuntimeError")
    assert row.finished_at is not None


UNREADABLE = "The uploaded file could not be read from storage; upload it again."


class FlakyStorage(MemoryUploads):
    """Uploads whose reading fails with ``failure`` while ``failing``."""

    def __init__(self, failure: Exception) -> None:
        super().__init__()
        self.failure = failure
        self.failing = True

    async def open(self, upload):
        if self.failing:
            raise self.failure
        return await super().open(upload)


async def test_a_file_storage_cannot_serve_now_is_retried_and_a_corrupt_one_fails_at_once(
    database, owner_engine
):
    """Blob storage unreachable (a timeout) is an attempt that failed: the import stays
    running and the next attempt imports the file, or it fails on the job's last attempt. A
    file that is gone or does not match its digest fails the import at the first attempt."""
    workspace_id, _, owner = await leads_workspace(database, owner_engine, "Import storage")
    body = csv_bytes([["email"], *([f"ok{i}@storage.example"] for i in range(6))])
    bus = import_bus(database, chunk_rows=5)
    context = as_user(owner, workspace_id, "owner")

    storage = FlakyStorage(TimeoutError())
    import_id = await start_memory_import(bus, context, storage, body)
    with pytest.raises(TimeoutError):
        await run_memory_import(database, workspace_id, import_id, storage, attempt=1)
    row = await import_row(owner_engine, import_id)
    assert (row.status, row.error) == ("running", None)
    storage.failing = False
    await run_memory_import(database, workspace_id, import_id, storage, attempt=2)
    row = await import_row(owner_engine, import_id)
    assert (row.status, row.created) == ("completed", 6)

    for failure in (ConnectionResetError(), BlobStorageUnavailable("down")):
        storage = FlakyStorage(failure)
        import_id = await start_memory_import(bus, context, storage, body)
        for attempt, status in ((1, "running"), (2, "failed")):
            with pytest.raises(type(failure)):
                await run_memory_import(database, workspace_id, import_id, storage, attempt=attempt)
            assert (await import_row(owner_engine, import_id)).status == status
        assert (await import_row(owner_engine, import_id)).error == UNREADABLE

    for failure in (BlobCorrupted("digest"), BlobNotFound("There is no blob ws/upload/x.")):
        storage = FlakyStorage(failure)
        import_id = await start_memory_import(bus, context, storage, body)
        with pytest.raises(JobError) as raised:
            await run_memory_import(database, workspace_id, import_id, storage, attempt=1)
        assert not raised.value.retryable
        row = await import_row(owner_engine, import_id)
        assert (row.status, row.error) == ("failed", UNREADABLE)


async def test_a_resumed_import_remembers_the_leads_its_done_chunks_matched(database, owner_engine):
    """Row 2 reaches an existing lead by its email, row 6 (a later chunk) the same lead by its
    LinkedIn URL: ``duplicate`` of row 2, whether or not the job died in between."""
    reports = []
    for crash in (False, True):
        workspace_id, _, owner = await leads_workspace(
            database, owner_engine, f"Import resume {crash}"
        )
        uploads = MemoryUploads()
        bus = import_bus(database, chunk_rows=2)
        context = as_user(owner, workspace_id, "owner")
        link = "https://www.linkedin.com/in/ada"
        existing = csv_bytes([["email", "linkedin"], ["ada@resume.example", link]])
        first = await start_memory_import(bus, context, uploads, existing)
        await run_memory_import(database, workspace_id, first, uploads)
        body = csv_bytes(
            [
                ["email", "linkedin"],
                ["ada@resume.example", ""],
                ["bob@resume.example", ""],
                ["cy@resume.example", ""],
                ["dee@resume.example", ""],
                ["other@resume.example", link],
            ]
        )
        second = await start_memory_import(bus, context, uploads, body)
        if crash:
            with pytest.raises(RuntimeError):
                await run_memory_import(
                    database, workspace_id, second, uploads, FailingPreparer(good=1)
                )
            assert (await import_row(owner_engine, second)).rows_done == 2
        await run_memory_import(database, workspace_id, second, uploads, attempt=2)
        row = await import_row(owner_engine, second)
        codes = await owner_rows(
            owner_engine,
            "SELECT row, code FROM lead_import_errors WHERE import_id = :i ORDER BY row, seq",
            i=UUID(second),
        )
        reports.append((counts_of(row), codes))
    assert reports[0] == reports[1]
    assert reports[1][1] == [(2, "lead_exists"), (6, "duplicate")]


async def import_past_the_sample(
    database, owner_engine, name: str, head: bytes, tail: bytes, *, chunk_rows: int
):
    """``head + tail`` imported into a new workspace, detection having seen ``head`` only (as
    with a file past its first MiB); (workspace id, the import's row)."""
    workspace_id, _, owner = await leads_workspace(database, owner_engine, name)
    uploads = MemoryUploads()
    bus = import_bus(database, chunk_rows=chunk_rows)
    context = as_user(owner, workspace_id, "owner")
    import_id = await start_memory_import(bus, context, uploads, head + tail, sample=head)
    await run_memory_import(database, workspace_id, import_id, uploads)
    return workspace_id, await import_row(owner_engine, import_id)


async def test_bytes_past_the_detected_start_that_are_not_its_encoding_are_reported(
    database, owner_engine
):
    """The encoding is told from the file's start (its first MiB): Windows-1252 rows after
    UTF-8 ones are not imported with "�" in their names; each such row is one
    ``undecodable_text`` line per column holding such bytes, and counted invalid. Bytes in a
    column that is not imported do not matter."""
    head = b"Email,First Name,Last Name,Favourite Colour\r\n" + b"".join(
        b"person%d@utf8.example,Zo\xc3\xab,Example,blue\r\n" % n for n in range(20)
    )
    tail = (
        b"jose@cp1252.example,Jos\xe9,M\xfcller,green\r\n"  # row 22
        b"ana@cp1252.example,Ana,Lima,vermelho \xe9\r\n"  # row 23: an unmapped cell
    )
    workspace_id, row = await import_past_the_sample(
        database, owner_engine, "Import mixed", head, tail, chunk_rows=8
    )
    assert (row.status, counts_of(row)) == ("completed", (21, 0, 0, 1, 0))
    lines = await owner_rows(
        owner_engine,
        'SELECT row, "column", code FROM lead_import_errors WHERE import_id = :i ORDER BY row, seq',
        i=row.id,
    )
    assert lines == [(22, "First Name", "undecodable_text"), (22, "Last Name", "undecodable_text")]
    names = await owner_rows(
        owner_engine,
        "SELECT first_name, last_name FROM leads WHERE workspace_id = :ws "
        "AND (email LIKE '%cp1252%' OR first_name LIKE '%' || chr(65533) || '%' "
        "OR first_name LIKE '%' || chr(65535) || '%')",
        ws=workspace_id,
    )
    assert names == [("Ana", "Lima")]


async def test_rows_wider_than_the_files_columns_are_reported_not_shifted(database, owner_engine):
    """Past what the upload's sample showed, a row with more filled cells than the file has
    columns (an unquoted comma) is one ``too_many_cells`` line; its neighbours land."""
    head = b"Email,Company,Title\r\n" + b"".join(
        b"p%d@wide.example,Co %d,CEO\r\n" % (n, n) for n in range(10)
    )
    tail = b"ann@wide.example,Acme, Inc.,CTO\r\nbob@wide.example,Bobco,CFO,\r\n"  # rows 12, 13
    workspace_id, row = await import_past_the_sample(
        database, owner_engine, "Import wide", head, tail, chunk_rows=4
    )
    assert (row.status, counts_of(row)) == ("completed", (11, 0, 0, 1, 0))
    lines = await owner_rows(
        owner_engine,
        "SELECT row, code FROM lead_import_errors WHERE import_id = :i ORDER BY row, seq",
        i=row.id,
    )
    assert lines == [(12, "too_many_cells")]
    titles = await owner_rows(
        owner_engine,
        "SELECT email, title FROM leads WHERE workspace_id = :ws AND email < 'c'",
        ws=workspace_id,
    )
    assert titles == [("bob@wide.example", "CFO")]


async def test_a_file_that_stops_parsing_imports_what_comes_before(database, owner_engine):
    """A quote never closed runs past the cell limit: the 20 rows before it land, the row where
    the file breaks is one ``malformed_csv`` line, and the import completes; resumed after a
    crash, it ends the same."""
    results = []
    for crash in (False, True):
        workspace_id, _, owner = await leads_workspace(
            database, owner_engine, f"Import broken {crash}"
        )
        head = csv_bytes([["email"], *([f"ok{i}@broken.example"] for i in range(20))])
        body = head + b'"never closed,' + b"x" * (1024 * 1024 + 10)
        uploads = MemoryUploads()
        bus = import_bus(database, chunk_rows=5)
        context = as_user(owner, workspace_id, "owner")
        import_id = await start_memory_import(bus, context, uploads, body, sample=head)
        if crash:
            with pytest.raises(RuntimeError):
                await run_memory_import(
                    database, workspace_id, import_id, uploads, FailingPreparer(good=2)
                )
        await run_memory_import(database, workspace_id, import_id, uploads, attempt=2)
        row = await import_row(owner_engine, import_id)
        assert row.status == "completed"
        assert (row.total_rows, row.rows_done) == (21, 21)
        assert counts_of(row) == (20, 0, 0, 1, 0)
        lines = await owner_rows(
            owner_engine,
            "SELECT row, code, message FROM lead_import_errors WHERE import_id = :i",
            i=UUID(import_id),
        )
        assert [(line[0], line[1]) for line in lines] == [(22, "malformed_csv")]
        assert "line 22" in lines[0][2]
        assert "not read" in lines[0][2]
        sql = "SELECT count(*) FROM leads WHERE workspace_id = :ws"
        results.append(await count_rows(owner_engine, sql, ws=workspace_id))
    assert results == [20, 20]


async def test_an_import_that_wrote_many_leads_has_the_lead_tables_vacuumed_and_analyzed(
    database, owner_engine, nats_url, monkeypatch
):
    """So that the workspace's next lists are planned for its new size and its searches probe
    terms index-only. Below the threshold nothing is done (autovacuum's own runs are counted
    apart)."""
    monkeypatch.setattr(lead_jobs, "VACUUM_AFTER_ROWS", 20)
    workspace_id, _, owner = await leads_workspace(database, owner_engine, "Import analyze")
    analyses = (
        "SELECT sum(analyze_count + vacuum_count) FROM pg_stat_user_tables"
        " WHERE relname IN ('leads', 'lead_search_terms', 'lead_tags')"
    )
    nc = await connect_nats(nats_url, name="import-analyze-test")
    try:
        before = await count_rows(owner_engine, analyses)
        for rows, prefix in ((10, "few"), (30, "many")):
            body = csv_bytes([["email"], *([f"{prefix}{i}@analyze.example"] for i in range(rows))])
            _, job = await queue_import(database, nc, workspace_id, owner, body, chunk_rows=7)
            assert (await run_queued_import(database, nc, workspace_id, job)).ack
            if prefix == "few":
                assert await count_rows(owner_engine, analyses) == before
    finally:
        await nc.close()

    async def analyzed() -> int | None:
        after = await count_rows(owner_engine, analyses)
        return after if after == before + 6 else None

    await eventually(analyzed, within=5)


async def test_a_failed_vacuum_after_an_import_does_not_fail_its_job(
    database, owner_engine, nats_url, monkeypatch
):
    """The import is done either way: the failure is logged and the job succeeds."""

    async def failing_vacuum(_database):
        raise RuntimeError("vacuum could not run")

    monkeypatch.setattr(lead_jobs, "VACUUM_AFTER_ROWS", 5)
    monkeypatch.setattr(lead_jobs, "vacuum_lead_tables", failing_vacuum)
    workspace_id, _, owner = await leads_workspace(database, owner_engine, "Import no vacuum")
    body = csv_bytes([["email"], *([f"v{i}@novacuum.example"] for i in range(8))])
    nc = await connect_nats(nats_url, name="import-no-vacuum-test")
    try:
        import_id, job = await queue_import(database, nc, workspace_id, owner, body, chunk_rows=7)
        assert (await run_queued_import(database, nc, workspace_id, job)).ack
    finally:
        await nc.close()
    row = await import_row(owner_engine, import_id)
    assert (row.status, row.created) == ("completed", 8)
