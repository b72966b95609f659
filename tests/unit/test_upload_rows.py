"""An upload's rows are counted by a thread reading the file on its own while the import reads
it: the count is the import's, and closing the rows stops the count and leaks nothing."""

from __future__ import annotations

import asyncio
import gc
import os
import tempfile

import pytest

from scaliyo.adapters.imports.upload_rows import open_file_rows
from scaliyo.domain.leads.csv_format import FIELD_SIZE_LIMIT, CsvFormat

FMT = CsvFormat(encoding="utf-8", delimiter=",", has_header=True)


def _file(text: str):
    file = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the rows
    file.write(text.encode())  # left in the write buffer: the rows must flush it
    return file


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_the_count_is_the_rows_read_while_counting():
    body = "Email,Note\r\n" + "".join(
        f'p{n}@example.com,"line one\r\nline two, {n}"\r\n' if n % 3 else f",\r\np{n}@x.io,\r\n"
        for n in range(5000)
    )
    rows = await open_file_rows(_file(body), FMT)
    read = [row async for batch in rows.batches(700) for row in batch]
    counted = await rows.counted()
    await rows.close()
    assert counted == len(read) == 5000  # blank records are not rows
    assert rows.total == counted
    # row 2 is blank; each quoted cell spans two lines of the file but is one row
    assert read[:2] == [(3, ["p0@x.io", ""]), (4, ["p1@example.com", "line one\r\nline two, 1"])]


async def test_a_file_broken_part_way_counts_the_row_it_stops_at():
    body = "Email\r\na@example.com\r\nb@example.com\r\n" + '"' + "x" * (FIELD_SIZE_LIMIT + 10)
    rows = await open_file_rows(_file(body), FMT)
    read = [row async for batch in rows.batches(10) for row in batch]
    assert await rows.counted() == len(read) + 1 == 3
    assert rows.broken is not None and rows.broken.row == 4
    await rows.close()


async def test_closing_the_rows_stops_the_count_and_closes_its_descriptor():
    before = _open_fds()
    rows = await open_file_rows(_file("Email\r\n" + "a@example.com\r\n" * 400_000), FMT)
    await rows.close()
    assert await rows.counted() == -1  # stopped: closed long before it could finish
    assert rows.total is None
    assert _open_fds() == before


async def test_a_count_that_failed_after_the_rows_closed_is_not_reported_as_lost(monkeypatch):
    from scaliyo.adapters.imports import upload_rows

    def failing(fd, fmt, stop):
        os.close(fd)
        raise OSError("disk gone")

    monkeypatch.setattr(upload_rows, "_count", failing)
    loop = asyncio.get_running_loop()
    reported: list[dict] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        rows = await open_file_rows(_file("Email\r\na@example.com\r\n"), FMT)
        counting = rows._counting  # the import failed before it asked for the count
        await rows.close()
        await asyncio.wait([counting])
        del rows, counting
        gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert reported == []


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
async def test_rows_closed_before_they_were_all_read_let_go_of_the_file_cleanly():
    """An import that stops early (cancelled) closes its rows with batches left: the reader
    lets go of the file first, so nothing fails later when the reading is collected."""
    body = "Email\r\n" + "".join(f"p{n}@example.com\r\n" for n in range(2000))
    rows = await open_file_rows(_file(body), FMT)
    batches = rows.batches(100)
    assert len(await anext(batches)) == 100
    await rows.close()
    del batches
    gc.collect()
