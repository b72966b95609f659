"""CSV export of leads: the columns, one row per lead, and cells safe from formula injection.

A spreadsheet runs a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula (tab and
carriage return lead to the same on some imports), so such text cells get a leading single
quote, which spreadsheets show as "text follows" and hide. A text cell that itself starts with
a quote gets one more, so ``unescape_cell(escape_cell(x)) == x`` for every text. Numbers are
written as numbers and never escaped (a negative score is impossible anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from uuid import UUID

from scaliyo.domain.leads.lead import Lead

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"

EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "email",
    "first_name",
    "last_name",
    "title",
    "company",
    "company_domain",
    "website",
    "linkedin_url",
    "phone",
    "city",
    "country",
    "time_zone",
    "industry",
    "company_size",
    "seniority",
    "department",
    "source",
    "status",
    "owner_id",
    "tags",
    "score",
    "created_at",
    "updated_at",
)


def escape_cell(text: str) -> str:
    if text.startswith(FORMULA_TRIGGERS) or text.startswith(QUOTE):
        return QUOTE + text
    return text


def unescape_cell(cell: str) -> str:
    return cell[1:] if cell.startswith(QUOTE) else cell


def export_cell(value: object) -> str:
    """One value as CSV cell text: numbers plain, times RFC 3339 UTC, text escaped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return escape_cell(str(value.value))
    return escape_cell(str(value))


def export_row(
    lead: Lead,
    *,
    stage_names: Mapping[UUID, str],
    custom_keys: tuple[str, ...] = (),
) -> list[str]:
    """The cells of ``EXPORT_COLUMNS`` (status by stage name, tags joined by ``; ``), then
    one cell per custom field key."""
    profile = lead.profile
    values: dict[str, object] = {
        "id": lead.id,
        "source": lead.source,
        "status": stage_names.get(lead.status, str(lead.status)),
        "owner_id": lead.owner_id,
        "tags": "; ".join(lead.tags),
        "score": lead.score,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
    }
    row = [
        export_cell(values[column] if column in values else getattr(profile, column))
        for column in EXPORT_COLUMNS
    ]
    row.extend(export_cell(profile.custom_fields.get(key)) for key in custom_keys)
    return row
