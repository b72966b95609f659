"""An upload's records, read from blob storage: the file is fetched once into a temporary file
(imports read it twice: to count, then to import), then parsed as a stream."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import BinaryIO

from scaliyo.application.leads.import_ports import UploadRecord
from scaliyo.application.leads.import_rows import NumberedRecord
from scaliyo.application.shared.blobs import BlobStorage
from scaliyo.domain.leads.csv_format import CsvFormat, read_records


def numbered_records(stream: BinaryIO, fmt: CsvFormat) -> Iterator[NumberedRecord]:
    """Data records with their row numbers in the file (the header is row 1); the header and
    blank records are left out, their numbers kept."""
    for row, record in enumerate(read_records(stream, fmt), start=1):
        if row == 1 and fmt.has_header:
            continue
        if any(cell.strip() for cell in record):
            yield row, record


class FileRows:
    def __init__(self, file: BinaryIO, fmt: CsvFormat, total: int) -> None:
        self._file = file
        self._fmt = fmt
        self.total = total

    async def batches(self, size: int) -> AsyncIterator[list[NumberedRecord]]:
        self._file.seek(0)
        batch: list[NumberedRecord] = []
        for numbered in numbered_records(self._file, self._fmt):
            batch.append(numbered)
            if len(batch) == size:
                yield batch
                batch = []
                await asyncio.sleep(0)  # parsing is synchronous: let the lease renew
        if batch:
            yield batch

    async def close(self) -> None:
        self._file.close()


def _count(file: BinaryIO, fmt: CsvFormat) -> int:
    file.seek(0)
    return sum(1 for _ in numbered_records(file, fmt))


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
