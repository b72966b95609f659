"""An import's rejected rows: the file's rows whose report says something to fix, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator

from scaliyo.application.leads.import_ports import ImportProblem
from scaliyo.application.leads.rejected_rows import rejected_rows


async def _pages(*pages):
    for page in pages:
        yield list(page)


async def _collect(batches: AsyncIterator) -> list[tuple[int, list[str], str]]:
    return [(r.row, r.cells, r.reasons) async for batch in batches for r in batch]


def _opening(records):
    async def open_records():
        return records

    return open_records


async def test_rows_to_fix_come_in_file_order_with_every_reason_and_duplicates_do_not():
    records = _pages(
        [(2, ["ann@x.example"]), (3, ["bad"]), (4, ["ANN@x.example"])],
        [(6, [""]), (7, ["cat@x.example"]), (9, ["bob"])],
    )
    report = _pages(  # pages split a row's lines; row 8 is where a broken file stopped
        [
            ImportProblem(3, 0, "Email", "invalid_email", "Enter an email."),
            ImportProblem(4, 0, "Email", "duplicate", "The same lead as row 2."),
            ImportProblem(6, 0, "Email", "invalid_email", "Enter an email."),
        ],
        [
            ImportProblem(6, 1, None, "no_identity", "A lead needs an email."),
            ImportProblem(7, 0, "Email", "lead_exists", "Matches an existing lead."),
            ImportProblem(8, 0, None, "malformed_csv", "Not CSV."),
            ImportProblem(9, 0, None, "contact_limit_reached", "Upgrade."),
        ],
    )
    assert await _collect(rejected_rows(_opening(records), report)) == [
        (3, ["bad"], "Email: Enter an email. (invalid_email)"),
        (6, [""], "Email: Enter an email. (invalid_email); Row: A lead needs an email. "
         "(no_identity)"),
        (9, ["bob"], "Row: Upgrade. (contact_limit_reached)"),
    ]  # fmt: skip


async def test_a_clean_import_has_no_rejected_rows_and_its_file_is_not_opened():
    opened = []

    async def open_records():
        opened.append(True)
        return _pages([(2, ["a"])])

    duplicate = ImportProblem(2, 0, "Email", "duplicate", "The same lead as row 1.")
    assert await _collect(rejected_rows(open_records, _pages([duplicate], []))) == []
    assert opened == []  # nothing to find: the file is not even fetched
