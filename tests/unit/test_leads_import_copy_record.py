"""An imported lead's COPY record holds what the repository writes for the same lead."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from scaliyo.adapters.persistence.lead_import_repository import (
    CHUNK_COLUMNS,
    LEAD_COPY_COLUMNS,
    chunk_values,
    lead_copy_record,
)
from scaliyo.adapters.persistence.lead_repository import lead_values
from scaliyo.adapters.persistence.tables import leads
from scaliyo.application.leads.import_ports import NewLead
from scaliyo.application.leads.import_rows import RowRules, prepare_rows
from scaliyo.domain.leads.attributes import LeadSource
from scaliyo.domain.leads.column_mapping import propose_mapping
from scaliyo.domain.leads.csv_format import UNDECODABLE
from scaliyo.domain.leads.custom_fields import NO_CUSTOM_FIELDS
from scaliyo.domain.leads.icp import default_icp
from scaliyo.domain.leads.lead import Lead, LeadId
from scaliyo.domain.shared.ids import WorkspaceId

HEADER = ["First Name", "Last Name", "Email", "Company", "Website", "Title", "Seniority",
          "# Employees", "Person Linkedin Url", "Country"]  # fmt: skip
NOW = datetime(2026, 12, 1, tzinfo=UTC)
WORKSPACE, STATUS = UUID(int=1), UUID(int=2)

_cells = st.tuples(
    st.sampled_from(["Ada", "Zoë", ""]),
    st.sampled_from(["Lovelace", "Müller", ""]),
    st.sampled_from(["ada@acme.example", " GRACE@Acme.example ", ""]),
    st.sampled_from(["Acme", ""]),
    st.sampled_from(["acme.example", ""]),
    st.sampled_from(["CTO", "VP Sales", ""]),
    st.sampled_from(["vp", "c_suite", ""]),
    st.sampled_from(["35", "12000", ""]),
    st.sampled_from(["https://www.linkedin.com/in/ada", ""]),
    st.sampled_from(["Germany", "US", ""]),
)


def test_the_copy_and_chunk_columns_are_the_leads_columns():
    assert sorted((*LEAD_COPY_COLUMNS, *CHUNK_COLUMNS)) == sorted(c.name for c in leads.columns)


@given(cells=_cells, tags=st.sampled_from([(), ("vip",), ("Q4 list", "vip")]))
def test_a_copy_record_holds_the_values_of_the_same_lead(cells, tags):
    rules = RowRules(
        choices=tuple(propose_mapping(HEADER, [list(cells)], NO_CUSTOM_FIELDS)),
        fields=NO_CUSTOM_FIELDS,
        icp=default_icp(),
        tags=tags,
        now=NOW,
    )
    [row] = prepare_rows(rules, [(2, list(cells))])
    if row.profile is None:
        return
    new = NewLead(id=UUID(int=3), status=STATUS, row=row)
    record = dict(zip(LEAD_COPY_COLUMNS, lead_copy_record(new), strict=True))
    chunk = chunk_values(WORKSPACE, "csv", NOW, UUID(int=4))
    record.update(zip(CHUNK_COLUMNS, chunk, strict=True))
    assert record.pop("import_id") == UUID(int=4)  # the import's, which no save writes
    lead = Lead(
        id=LeadId(new.id),
        workspace_id=WorkspaceId(WORKSPACE),
        profile=row.profile,
        source=LeadSource.CSV,
        status=STATUS,
        tags=row.tags,
        score=row.score,
        score_reasons=row.reasons,
        created_at=NOW,
        updated_at=NOW,
    )
    expected = lead_values(lead)
    for column in ("custom_fields", "score_reasons"):  # JSON text for COPY
        assert msgspec.json.decode(record.pop(column)) == expected.pop(column)
    assert record == expected


def test_a_row_with_undecodable_bytes_in_a_mapped_cell_is_refused_by_column():
    """Only mapped cells count: bytes the file's encoding could not read in a column that is
    not imported leave the row valid."""
    header = ["Email", "First Name", "Notes"]
    choices = propose_mapping(header, [], NO_CUSTOM_FIELDS)
    assert choices[2].field is None
    rules = RowRules(choices=tuple(choices), fields=NO_CUSTOM_FIELDS, icp=default_icp(), now=NOW)
    bad_name, bad_note = prepare_rows(
        rules,
        [
            (2, ["jose@x.example", f"Jos{UNDECODABLE}", "fine"]),
            (3, ["ana@x.example", "Ana", f"caf{UNDECODABLE}"]),
        ],
    )
    assert not bad_name.valid
    assert [(p.column, p.code) for p in bad_name.problems] == [("First Name", "undecodable_text")]
    assert bad_note.valid and bad_note.profile is not None
    assert bad_note.profile.first_name == "Ana"


def test_a_row_with_filled_cells_past_the_files_columns_is_refused():
    """An unquoted comma shifts the cells after it: refused, not imported with "Inc." as a
    title. Blank cells past the columns (a trailing delimiter) and short rows are fine."""
    header = ["Email", "Company", "Title"]
    choices = propose_mapping(header, [], NO_CUSTOM_FIELDS)
    rules = RowRules(
        choices=tuple(choices), fields=NO_CUSTOM_FIELDS, icp=default_icp(), now=NOW, width=3
    )
    shifted, trailing, short = prepare_rows(
        rules,
        [
            (2, ["ann@acme.example", "Acme", " Inc.", "CEO"]),
            (3, ["bob@acme.example", "Acme", "CTO", " ", ""]),
            (4, ["cat@acme.example"]),
        ],
    )
    assert [(p.column, p.code) for p in shifted.problems] == [(None, "too_many_cells")]
    assert "4 cells where the file has 3 columns" in shifted.problems[0].message
    assert trailing.valid and short.valid
    assert trailing.profile is not None and trailing.profile.title == "CTO"
