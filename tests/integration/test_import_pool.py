"""The pool that prepares import rows: it ends with the worker process that started it, even
when that process is killed with SIGKILL (no orphans holding the worker's output pipes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

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
