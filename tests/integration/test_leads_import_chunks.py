"""Chunks written two at a time (``WRITERS``) end exactly as chunks written one at a time: a
chunk reaching an existing lead that the chunk before it matched reports a duplicate of that
row, and contacts past the limit are refused in row order, whichever chunk got there first;
and a chunk's lookups stay index probes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from uuid import UUID

import pytest
from sqlalchemy import text

from scaliyo.adapters.persistence import lead_import_repository
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork, set_tenant
from scaliyo.application.leads import import_job
from scaliyo.domain.usage.counters import Metric
from tests.integration.helpers.identity import as_user
from tests.integration.helpers.imports import (
    MemoryUploads,
    counts_of,
    csv_bytes,
    import_bus,
    import_row,
    owner_rows,
    run_memory_import,
    start_memory_import,
)
from tests.integration.helpers.leads import leads_workspace

REPORT = "SELECT row, code FROM lead_import_errors WHERE import_id = :i ORDER BY row, seq"


async def _import(database, owner_engine, name: str, files: list[bytes], *, chunk_rows: int):
    """Each file imported in turn into a new workspace; the last import's counts and report."""
    workspace_id, _, owner = await leads_workspace(database, owner_engine, name)
    uploads = MemoryUploads()
    bus = import_bus(database, chunk_rows=chunk_rows)
    context = as_user(owner, workspace_id, "owner")
    for body in files:
        import_id = await start_memory_import(bus, context, uploads, body)
        await run_memory_import(database, workspace_id, import_id, uploads)
    row = await import_row(owner_engine, import_id)
    assert row.status == "completed"
    return counts_of(row), await owner_rows(owner_engine, REPORT, i=UUID(import_id))


@pytest.mark.parametrize(("writers", "slow_commits"), [(1, False), (2, False), (2, True)])
async def test_a_chunk_reaching_a_lead_the_chunk_before_matched_reports_a_duplicate(
    database, owner_engine, monkeypatch, writers, slow_commits
):
    """One row a chunk: rows 3, 5 and 7 reach the leads rows 2, 4 and 6 (the chunks right
    before) matched by email, by their LinkedIn URLs. With slow commits each chunk resolves
    after the one before committed but before it ended, so only what that one matched tells
    it: read, every chunk commits at its first attempt (unread, the chunk's matches would
    collide with that one's in ``lead_import_matches`` and the chunk would run again)."""
    monkeypatch.setattr(import_job, "WRITERS", writers)
    attempts = 0
    if slow_commits:  # a chunk's matching waits for the locks of the one before, so it
        # resolves between that one's commit and its end: what it matched is still pending
        leave = SqlUnitOfWork.__aexit__
        attempt = import_job._Importer._transaction

        async def slowly(self, *exc_info):
            if self._committed:
                await asyncio.sleep(0.2)
            await leave(self, *exc_info)

        async def counted(self, chunk):
            nonlocal attempts
            attempts += 1
            await attempt(self, chunk)

        monkeypatch.setattr(SqlUnitOfWork, "__aexit__", slowly)
        monkeypatch.setattr(import_job._Importer, "_transaction", counted)
    people = ("ada", "bob", "cy")
    existing = csv_bytes(
        [["email", "linkedin"]]
        + [[f"{p}@adjacent.example", f"https://www.linkedin.com/in/{p}"] for p in people]
    )
    rows = [["email", "linkedin"]]
    for p in people:
        rows += [
            [f"{p}@adjacent.example", ""],
            [f"{p}.other@adjacent.example", f"linkedin.com/in/{p}"],
        ]
    rows.append(["new@adjacent.example", ""])
    name = f"Adjacent {writers} {slow_commits}"
    counts, report = await _import(
        database, owner_engine, name, [existing, csv_bytes(rows)], chunk_rows=1
    )
    assert counts == (1, 0, 6, 0, 0)  # created, updated, duplicates, invalid, limit_reached
    if slow_commits:
        assert attempts == len(people) + len(rows) - 1  # one a data row of both files
    assert report == [
        (2, "lead_exists"),
        (3, "duplicate"),
        (4, "lead_exists"),
        (5, "duplicate"),
        (6, "lead_exists"),
        (7, "duplicate"),
    ]


@pytest.mark.parametrize("writers", [1, 2])
async def test_contacts_past_the_limit_are_refused_in_row_order(
    database, owner_engine, monkeypatch, writers
):
    """Room for 5 contacts; 12 new people in chunks of 2, with a duplicate in between: rows 2-7
    (less the duplicate) are created, every later new person is ``contact_limit_reached``."""
    monkeypatch.setattr(import_job, "WRITERS", writers)
    workspace_id, _, owner = await leads_workspace(database, owner_engine, f"Limit {writers}")
    async with SqlUnitOfWork(database.app, workspace_id) as uow:
        await uow.limits.set_used(Metric.CONTACTS, 1000 - 5, at=datetime.now(UTC))
        await uow.commit()
    emails = [f"p{i}@limit.example" for i in range(12)]
    emails.insert(3, "P1@LIMIT.example")  # row 5: a duplicate of row 3
    uploads = MemoryUploads()
    bus = import_bus(database, chunk_rows=2)
    context = as_user(owner, workspace_id, "owner")
    import_id = await start_memory_import(
        bus, context, uploads, csv_bytes([["email"], *([e] for e in emails)])
    )
    await run_memory_import(database, workspace_id, import_id, uploads)
    row = await import_row(owner_engine, import_id)
    assert counts_of(row) == (5, 0, 1, 0, 7)
    report = await owner_rows(owner_engine, REPORT, i=UUID(import_id))
    assert report == [(5, "duplicate")] + [(r, "contact_limit_reached") for r in range(8, 15)]


async def test_matching_a_chunk_probes_an_index_per_key_whatever_the_statistics(
    database, owner_engine
):
    """The chunk's lookups stay index probes (and the locks go through the primary key)
    whatever the planner believes of the workspace: right after a bulk load (statistics from
    before it), and for a workspace the statistics do not know. A hash join there walks every
    lead of the workspace for every chunk; a probe through another index of the workspace
    walks its part of that index for every lead found."""
    loaded, _, owner = await leads_workspace(database, owner_engine, "Matching plan")
    uploads = MemoryUploads()
    bus = import_bus(database, chunk_rows=1000)
    body = csv_bytes([["email"], *([f"p{i}@plan.example"] for i in range(3000))])
    import_id = await start_memory_import(bus, as_user(owner, loaded, "owner"), uploads, body)
    await run_memory_import(database, loaded, import_id, uploads)
    shapes = [await _matching_plan_indexes(database, loaded)]
    async with owner_engine.connect() as conn:
        await conn.execute(text("ANALYZE leads"))
        await conn.commit()
    unknown, _, _ = await leads_workspace(database, owner_engine, "Matching plan, unknown")
    shapes.append(await _matching_plan_indexes(database, unknown))
    expected = [
        ("Index Scan", "ix_leads_workspace_id_name_key"),
        ("Index Scan", "pk_leads"),
        ("Index Scan", "ux_leads_workspace_id_email"),
        ("Index Scan", "ux_leads_workspace_id_linkedin_url"),
    ]
    assert shapes == [expected, expected]


async def _matching_plan_indexes(database, workspace_id) -> list[tuple[str, str | None]]:
    """(node type, index) of each scan of ``leads`` in the plan of matching 1,000 keys."""
    keys = sorted(f"q{i}@plan.example" for i in range(1000))
    statement = lead_import_repository._MATCHING.text
    for name, position in ((":ws", "$1"), (":emails", "$2"), (":links", "$3"), (":names", "$4")):
        statement = statement.replace(name, position)
    async with database.app.connect() as conn, conn.begin():
        await set_tenant(conn, workspace_id)
        raw = (await conn.get_raw_connection()).driver_connection
        plan = await raw.fetchval(
            f"EXPLAIN (FORMAT JSON) {statement}", workspace_id, keys, keys[:700], keys
        )

    def nodes(node):
        yield node
        for child in node.get("Plans", ()):
            yield from nodes(child)

    plan = json.loads(plan) if isinstance(plan, str) else plan  # decoded by the connection's codec
    return sorted(
        (n["Node Type"], n.get("Index Name"))
        for n in nodes(plan[0]["Plan"])
        if n.get("Relation Name") == "leads"
    )
