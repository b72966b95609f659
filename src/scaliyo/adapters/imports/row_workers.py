"""Row preparers: in this process, or in a pool of processes so that mapping and normalising
(tens of microseconds a row, most of an import's Python work) run on every core while this
process talks to the database.

Batches cross the process boundary as lists of cells in and msgpack out: pickling the
prepared structs would cost more than preparing them.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from scaliyo.application.leads.import_rows import (
    NumberedRecord,
    PreparedRow,
    RowRules,
    decode_prepared,
    encode_rules,
    prepare_encoded,
    prepare_rows,
)

SMALL_BATCH = 200  # smaller batches are prepared here: a round trip would cost more


class InlinePreparer:
    async def prepare(self, rules: RowRules, records: list[NumberedRecord]) -> list[PreparedRow]:
        return prepare_rows(rules, records)

    async def close(self) -> None:
        return None


class ProcessPoolPreparer:
    """Prepares batches in ``workers`` processes (started on first use, with ``spawn``: the
    worker process runs an event loop and threads, which must not be forked)."""

    def __init__(self, workers: int = 0) -> None:
        self._workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None
        self._rules: tuple[RowRules, bytes] | None = None

    def _encoded(self, rules: RowRules) -> bytes:
        if self._rules is None or self._rules[0] is not rules:
            self._rules = (rules, encode_rules(rules))
        return self._rules[1]

    async def prepare(self, rules: RowRules, records: list[NumberedRecord]) -> list[PreparedRow]:
        if len(records) < SMALL_BATCH:
            return prepare_rows(rules, records)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._workers, mp_context=multiprocessing.get_context("spawn")
            )
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(
            self._pool, prepare_encoded, self._encoded(rules), records
        )
        return decode_prepared(data)

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
