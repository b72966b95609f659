"""CSV export: no cell a spreadsheet would run as a formula; plain text survives unchanged."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from scaliyo.domain.leads.attributes import LeadSource
from scaliyo.domain.leads.export import (
    EXPORT_COLUMNS,
    FORMULA_TRIGGERS,
    escape_cell,
    export_cell,
    export_row,
    unescape_cell,
)
from scaliyo.domain.leads.lead import Lead, LeadId
from scaliyo.domain.leads.pipeline import default_pipeline
from scaliyo.domain.leads.profile import LeadInput, normalise_lead
from scaliyo.domain.shared.ids import WorkspaceId

TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]))
DANGEROUS = st.builds("{}{}".format, st.sampled_from([*FORMULA_TRIGGERS, "'"]), TEXT)


@given(st.one_of(TEXT, DANGEROUS))
def test_every_escaped_cell_is_safe_and_plain_text_comes_back(text):
    cell = escape_cell(text)
    assert not cell.startswith(FORMULA_TRIGGERS)
    assert unescape_cell(cell) == text
    if not text.startswith((*FORMULA_TRIGGERS, "'")):
        assert cell == text  # ordinary text is left alone
    assert export_cell(text) == cell


@given(st.one_of(st.integers(-(10**15), 10**15), st.floats(allow_nan=False, allow_infinity=False)))
def test_numbers_are_written_as_numbers(number):
    cell = export_cell(number)
    assert float(cell) == float(number)


def test_examples():
    assert escape_cell('=HYPERLINK("http://evil","x")') == '\'=HYPERLINK("http://evil","x")'
    assert escape_cell("+1 415 555 0100") == "'+1 415 555 0100"
    assert escape_cell("-2+3") == "'-2+3"
    assert escape_cell("@SUM(A1)") == "'@SUM(A1)"
    assert escape_cell("\tcmd") == "'\tcmd"
    assert escape_cell("'90s") == "''90s"
    assert escape_cell("Acme, Inc.") == "Acme, Inc."
    assert export_cell(None) == "" and export_cell(True) == "true"
    assert export_cell(datetime(2026, 3, 1, tzinfo=UTC)) == "2026-03-01T00:00:00Z"


def test_a_lead_row_through_the_csv_module():
    pipeline = default_pipeline(iter(UUID(int=n) for n in range(1, 7)).__next__)
    profile = normalise_lead(
        LeadInput(
            email="jane@acme.com",
            first_name="=cmd|' /C calc'!A0",
            phone="+1 415 555 0100",
            custom_fields={},
        )
    )
    lead, _ = Lead.create(
        id=LeadId(UUID(int=9)),
        workspace_id=WorkspaceId(UUID(int=1)),
        profile=profile,
        source=LeadSource.CSV,
        pipeline=pipeline,
        now=datetime(2026, 3, 1, tzinfo=UTC),
        tags=["-vip", "hot"],
    )
    row = export_row(lead, stage_names={s.id: s.name for s in pipeline.stages})
    buffer = io.StringIO()
    csv.writer(buffer).writerows([EXPORT_COLUMNS, row])
    header, read = list(csv.reader(io.StringIO(buffer.getvalue())))
    cells = dict(zip(header, read, strict=True))
    assert cells["first_name"] == "'=cmd|' /C calc'!A0"
    assert cells["phone"] == "'+14155550100"
    assert cells["status"] == "New"
    assert cells["tags"] == "'-vip; hot"
    assert cells["score"] == "0"
    assert all(not cell.startswith(FORMULA_TRIGGERS) for cell in read)
