"""An upload's records, read from blob storage: the file is fetched once into a temporary file
(imports read it twice: to count, then to import), then parsed as a stream, up to where it
stops being CSV if it does."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import BinaryIO

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


class FileRows:
    def __init__(self, file: BinaryIO, fmt: CsvFormat, total: int) -> None:
        self._file = file
        self._fmt = fmt
        self.total = total
        self.broken: BrokenRow | None = None

    async def batches(self, size: int) -> AsyncIterator[list[NumberedRecord]]:
        self._file.seek(0)
        reading = _Reading(self._file, self._fmt)
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
        self._file.close()


def _count(file: BinaryIO, fmt: CsvFormat) -> int:
    """The data rows, the row a broken file stops at included."""
    file.seek(0)
    reading = _Reading(file, fmt)
    return sum(1 for _ in reading) + (reading.broken is not None)


async def open_file_rows(file: BinaryIO, fmt: CsvFormat) -> FileRows:
    """Rows of a local file (the file is closed with the rows)."""
    total = await asyncio.to_thread(_count, file, fmt)
    return FileRows(file, fmt, total)


class BlobUploadReader:
    """``UploadReader`` over blob storage."""

    def __init__(self, blobs: BlobStorage) -> None:
        self._blobs = blobs

    async def open(self, upload: UploadRecord) -> FileRows:
        fmt = CsvFormat(
            encoding=upload.encoding, delimiter=upload.delimiter, has_header=upload.has_header
        )
        blob = await self._blobs.open(upload.workspace_id, upload.blob_key)
        file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the rows, or below
        try:
            async for chunk in blob:
                file.write(chunk)
            return await open_file_rows(file, fmt)
        except BaseException:
            file.close()
            raise
