"""The pool that prepares import rows: it prepares a batch as this process would, and it ends
with the worker process that started it, even when that process is killed with SIGKILL (no
orphans holding the worker's output pipes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import psutil
import pytest

from scaliyo.adapters.imports.row_workers import SMALL_BATCH, InlinePreparer, ProcessPoolPreparer
from scaliyo.application.leads.import_rows import RowRules
from scaliyo.domain.leads.column_mapping import propose_mapping
from scaliyo.domain.leads.custom_fields import NO_CUSTOM_FIELDS
from scaliyo.domain.leads.icp import default_icp

CHILD = """
import asyncio, os, signal
from scaliyo.adapters.imports.row_workers import ProcessPoolPreparer

async def main():
    pool = ProcessPoolPreparer(2)
    pool.start()
    await pool.started()
    print(" ".join(str(p.pid) for p in pool._pool._processes.values()), flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


HEADER = ["First Name", "Last Name", "Email", "Company", "Website", "Phone", "Country", "Tags"]


def _record(n: int) -> list[str]:
    cells = [
        ["Zoë", "Müller", f"zoe.{n}@acme.example", "Acme GmbH", "acme.example", "+49 89 1234567",
         "Germany", "vip; q4"],
        ["", "", f"not-an-email-{n}", "", "", "", "", ""],
        ["Jürgen", "O'Brien", "", "Line one\nline two", "http://www.globex.example", "12",
         "Atlantis", ""],
        [" ", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629", f"  P{n}@X.IO ", "=SUM(A1)", "",
         "", "", ""],
    ]  # fmt: skip
    return cells[n % len(cells)]


@pytest.mark.slow
async def test_the_pool_prepares_a_batch_as_this_process_would():
    records = [(n + 2, _record(n)) for n in range(SMALL_BATCH + 37)]
    rules = RowRules(
        choices=tuple(propose_mapping(HEADER, [cells for _, cells in records], NO_CUSTOM_FIELDS)),
        fields=NO_CUSTOM_FIELDS,
        icp=default_icp(),
        tags=("imported",),
        now=datetime(2026, 12, 1, tzinfo=UTC),
    )
    pool = ProcessPoolPreparer(1)
    try:
        pooled = await pool.prepare(rules, records)
    finally:
        executor = pool._pool
        await pool.close()
        if executor is not None:
            executor.shutdown(wait=True)  # the process gone, with its semaphores
    inline = await InlinePreparer().prepare(rules, records)
    assert pooled == inline
    assert {row.valid for row in pooled} == {True, False}


@pytest.mark.slow
def test_the_pool_ends_when_its_worker_is_killed():
    worker = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        line = worker.stdout.readline() if worker.stdout else ""
        pool = [int(pid) for pid in line.split()]
        assert len(pool) == 2
        assert all(psutil.pid_exists(pid) for pid in pool)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in pool):
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in pool)
    finally:
        if worker.poll() is None:
            worker.kill()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
