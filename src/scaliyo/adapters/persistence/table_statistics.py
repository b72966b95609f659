"""Planner statistics and visibility after bulk writes.

PostgreSQL plans with statistics that autovacuum refreshes a minute or more after a table has
changed by a tenth (and never for one workspace's growth in a large shared table), and a search
probes search terms index-only once vacuum has marked their pages all-visible. Right after
300,000 leads had been written (bench/leads_list.py with nothing run after its fill), lists and
searches of that workspace were slow: status + tag + score 208 ms p95, ``company kowalski`` 78,
``j m`` 153. ANALYZE alone brought the first to 7.5 ms but left the searches at 94 and 134 ms
(heap fetches); with VACUUM (ANALYZE), as the bench runs, they take 11–20 ms at a million leads.
So a job that wrote many leads (an import, a bulk action, a re-score) vacuums and analyzes the
lead tables at its end: the work autovacuum would do later, done while the job's user waits for
it anyway. Vacuum reads only pages not yet all-visible (mostly the job's), and analyze samples a
fixed number of rows.

It runs as ``scaliyo_system``, which migration 0044 grants ``MAINTAIN`` on the lead tables
(PostgreSQL 17+; on older servers the command warns and skips them, and autovacuum remains).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from scaliyo.adapters.persistence.database import Database

VACUUM_AFTER_ROWS = 10_000  # leads written by one job (an import, a bulk action)
LEAD_TABLES = ("leads", "lead_search_terms", "lead_tags")


async def vacuum_lead_tables(database: Database) -> None:
    """VACUUM (ANALYZE) the lead tables, each on a connection of its own at the same time (a
    vacuum works on one core; the two largest tables take about as long)."""
    await asyncio.gather(*(_vacuum(database, table) for table in LEAD_TABLES))


async def _vacuum(database: Database, table: str) -> None:
    async with database.system.connect() as connection:
        # outside a transaction, as VACUUM must be
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f"VACUUM (ANALYZE) {table}"))
