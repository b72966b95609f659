"""An import's rejected rows: the rows of its file that were not imported for a reason the user
can fix (an invalid cell, no identity, the contact limit, an unreadable or shifted row), with
their cells as the file has them and why, so that they can be corrected and imported again.

Rules:
- a row is rejected when its report has a line other than ``duplicate`` or ``lead_exists``
  (a duplicate needs no fixing: its lead is there);
- rows come in file order, each once, with its reasons joined
  (``Email: Enter an email… (invalid_email)``);
- a report line for a row the file does not yield (where a broken file stopped) is skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable

import msgspec

from scaliyo.application.leads.import_ports import ImportProblem
from scaliyo.application.leads.import_rows import NumberedRecord

NOT_REJECTED = frozenset({"duplicate", "lead_exists"})


class RejectedRow(msgspec.Struct, frozen=True):
    row: int
    cells: list[str]
    reasons: str


async def rejected_rows(
    open_records: Callable[[], Awaitable[AsyncIterable[list[NumberedRecord]]]],
    report: AsyncIterable[list[ImportProblem]],
) -> AsyncIterator[list[RejectedRow]]:
    """Batches of the rejected rows among the file's records (``open_records`` gives them, in
    order, in batches), by ``report`` (the import's report lines, pages in row order)."""
    reasons = _reasons_by_row(report)
    upcoming = await anext(reasons, None)
    if upcoming is None:  # nothing to find: the file is not even opened
        return
    async for batch in await open_records():
        found: list[RejectedRow] = []
        for row, cells in batch:
            while upcoming is not None and upcoming[0] < row:
                upcoming = await anext(reasons, None)
            if upcoming is not None and upcoming[0] == row:
                found.append(RejectedRow(row, cells, upcoming[1]))
                upcoming = await anext(reasons, None)
        if found:
            yield found
        if upcoming is None:  # the rest of the file holds none
            return


async def _reasons_by_row(
    report: AsyncIterable[list[ImportProblem]],
) -> AsyncIterator[tuple[int, str]]:
    row: int | None = None
    reasons: list[str] = []
    async for page in report:
        for problem in page:
            if problem.code in NOT_REJECTED:
                continue
            if problem.row != row:
                if row is not None:
                    yield row, "; ".join(reasons)
                row, reasons = problem.row, []
            reasons.append(f"{problem.column or 'Row'}: {problem.message} ({problem.code})")
    if row is not None:
        yield row, "; ".join(reasons)
