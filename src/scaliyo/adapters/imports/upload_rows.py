"""An upload's records, read from blob storage: the file is fetched once into a temporary file,
then parsed as a stream, up to where it stops being CSV if it does. Its rows are counted at the
same time, by a thread reading the file through a descriptor of its own: counting a million
rows takes seconds of one core, which the import need not wait for."""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, BinaryIO

from scaliyo.application.leads.import_ports import BrokenRow, UploadRecord
from scaliyo.application.leads.import_rows import NumberedRecord
from scaliyo.application.shared.blobs import BlobStorage
from scaliyo.domain.leads.csv_format import CsvFormat, MalformedCsv, read_records


def numbered_records(stream: BinaryIO, fmt: CsvFormat) -> Iterator[NumberedRecord]:
    """Data records with their row numbers in the file (the header is row 1); the header and
    blank records are left out, their numbers kept. ``MalformedCsv`` where the file stops being
    CSV."""
    for row, record in enumerate(read_records(stream, fmt), start=1):
        if row == 1 and fmt.has_header:
            continue
        if any(map(str.strip, record)):
            yield row, record


class _Reading:
    """The records of a file up to where it breaks, if it does."""

    def __init__(self, stream: BinaryIO, fmt: CsvFormat) -> None:
        self._records = numbered_records(stream, fmt)
        self._last = 1 if fmt.has_header else 0
        self.broken: BrokenRow | None = None

    def __iter__(self) -> Iterator[NumberedRecord]:
        try:
            for numbered in self._records:
                self._last = numbered[0]
                yield numbered
        except MalformedCsv as error:
            self.broken = BrokenRow(row=self._last + 1, message=error.detail)

    def close(self) -> None:
        """Stop reading (the text reader lets go of the stream now, not when collected)."""
        self._records.close()


class FileRows:
    """``UploadRows`` of a local file; ``total`` is ``None`` until the rows are counted."""

    def __init__(self, file: BinaryIO, fmt: CsvFormat, *, count: bool = True) -> None:
        self._file = file
        self._fmt = fmt
        self.broken: BrokenRow | None = None
        self._stop = threading.Event()
        self._reading: _Reading | None = None
        file.flush()  # the count reads what is in the file, not in its write buffer
        self._counting: asyncio.Future[int] = (
            asyncio.ensure_future(asyncio.to_thread(_count, os.dup(file.fileno()), fmt, self._stop))
            if count
            else _uncounted()
        )

    @property
    def total(self) -> int | None:
        counting = self._counting
        if counting.done() and not counting.cancelled() and counting.exception() is None:
            rows = counting.result()
            return rows if rows >= 0 else None
        return None

    async def counted(self) -> int:
        return await asyncio.shield(self._counting)

    async def batches(self, size: int) -> AsyncIterator[list[NumberedRecord]]:
        self._file.seek(0)
        reading = self._reading = _Reading(self._file, self._fmt)
        batch: list[NumberedRecord] = []
        for numbered in reading:
            batch.append(numbered)
            if len(batch) == size:
                yield batch
                batch = []
                await asyncio.sleep(0)  # parsing is synchronous: let the lease renew
        self.broken = reading.broken
        if batch:
            yield batch

    async def close(self) -> None:
        if self._reading is not None:  # batches left unread (a cancelled import): let go first
            self._reading.close()
        self._stop.set()  # a count still running stops at its next row
        self._counting.add_done_callback(_retrieved)  # a failed count nobody awaited is no error
        self._file.close()


def _uncounted() -> asyncio.Future[int]:
    """The count of rows read without one (``-1``: no total)."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    future.set_result(-1)
    return future


def _retrieved(counting: asyncio.Future[int]) -> None:
    if not counting.cancelled():
        counting.exception()


class _OwnPosition(io.RawIOBase):
    """A file read through a descriptor of its own at a position of its own (``os.pread``),
    so that another reader of the same file is not moved. Closing it closes the descriptor."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = os.pread(self._fd, len(buffer), self._position)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def _count(fd: int, fmt: CsvFormat, stop: threading.Event) -> int:
    """The data rows, the row a broken file stops at included (reading ``fd``, then closing
    it); ``-1`` when stopped first."""
    with io.BufferedReader(_OwnPosition(fd), 1 << 20) as stream:
        reading = _Reading(stream, fmt)
        rows = 0
        try:
            for _ in reading:
                rows += 1
                if not rows % 10_000 and stop.is_set():
                    return -1
        finally:
            reading.close()  # before the stream closes
        return rows + (reading.broken is not None)


async def open_file_rows(file: BinaryIO, fmt: CsvFormat, *, count: bool = True) -> FileRows:
    """Rows of a local file, counted from now on unless ``count`` is False (the file is closed
    with the rows)."""
    return FileRows(file, fmt, count=count)


class BlobUploadReader:
    """``UploadReader`` over blob storage."""

    def __init__(self, blobs: BlobStorage) -> None:
        self._blobs = blobs

    async def open(self, upload: UploadRecord, *, count: bool = True) -> FileRows:
        """The upload's rows, fetched into a temporary file; counted meanwhile unless
        ``count`` is False (a reader that only wants some rows back)."""
        fmt = CsvFormat(
            encoding=upload.encoding, delimiter=upload.delimiter, has_header=upload.has_header
        )
        blob = await self._blobs.open(upload.workspace_id, upload.blob_key)
        file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the rows, or below
        try:
            async for chunk in blob:
                file.write(chunk)
            return await open_file_rows(file, fmt, count=count)
        except BaseException:
            file.close()
            raise
