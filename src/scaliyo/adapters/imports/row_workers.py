"""Row preparers: in this process, or in a pool of processes so that mapping and normalising
(tens of microseconds a row, most of an import's Python work) run on every core while this
process talks to the database.

Batches cross the process boundary as msgpack both ways: pickling the prepared structs would
cost more than preparing them, and pickling the cells six times what encoding them does.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from scaliyo.adapters.process_lifetime import end_with_parent, settle_startup_objects
from scaliyo.application.leads.import_rows import (
    NumberedRecord,
    PreparedRow,
    RowRules,
    decode_prepared,
    encode_records,
    encode_rules,
    prepare_encoded,
    prepare_rows,
)

SMALL_BATCH = 200  # smaller batches are prepared here: a round trip would cost more


def default_workers() -> int:
    """One process per CPU but one: the worker process itself (reading, deduplicating, writing)
    and the database it writes to need a core. On two cores with the database beside the
    worker, one preparing process imported 300,000 rows at 8,913 and 8,256 rows/s against
    8,481 and 7,153 with two (alternating runs of bench/import.py): with two, five busy
    processes shared two cores, and preparing a row cost 86–104 µs of CPU instead of 79–86."""
    return max(1, (os.cpu_count() or 1) - 1)


def _warm() -> None:
    """A pool process's warm-up, run as its first task: unpickling this function imported the
    preparing code; what that built lives as long as the process, so it is frozen."""
    settle_startup_objects()


class InlinePreparer:
    async def prepare(self, rules: RowRules, records: list[NumberedRecord]) -> list[PreparedRow]:
        return prepare_rows(rules, records)

    async def close(self) -> None:
        return None


class ProcessPoolPreparer:
    """Prepares batches in ``workers`` processes (with ``spawn``: the worker process runs an
    event loop and threads, which must not be forked). One pool serves every import of the
    process: ``start`` spawns it ahead of the first (a spawned process takes a second or two to
    import what it needs), ``close`` ends it. A pool broken by a killed process is replaced on
    the next batch; the batch that found it broken fails (its job is retried)."""

    def __init__(self, workers: int = 0) -> None:
        self._workers = workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None
        self._rules: tuple[RowRules, bytes] | None = None
        self._warming: list[Future[None]] = []

    def _encoded(self, rules: RowRules) -> bytes:
        cached = self._rules
        if cached is None or cached[0] is not rules:
            cached = self._rules = (rules, encode_rules(rules))
        return cached[1]

    def _running(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                # a worker killed with SIGKILL must not leave its pool running (and holding the
                # pipes its supervisor reads to see it exit)
                initializer=end_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def start(self) -> None:
        """Spawn the processes now (each imports the preparing code) rather than at the first
        batch."""
        pool = self._running()
        self._warming = [pool.submit(_warm) for _ in range(self._workers)]

    async def started(self) -> None:
        """Return once the processes ``start`` spawned are ready."""
        await asyncio.gather(*(asyncio.wrap_future(future) for future in self._warming))

    async def prepare(self, rules: RowRules, records: list[NumberedRecord]) -> list[PreparedRow]:
        if len(records) < SMALL_BATCH:
            return prepare_rows(rules, records)
        pool = self._running()
        loop = asyncio.get_running_loop()
        try:
            data = await loop.run_in_executor(
                pool, prepare_encoded, self._encoded(rules), encode_records(records)
            )
        except BrokenProcessPool:
            if self._pool is pool:
                self._pool = None
            raise
        return decode_prepared(data)

    async def close(self) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
