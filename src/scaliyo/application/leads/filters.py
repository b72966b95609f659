"""Lead filters, sorts and keyset cursors: what ``GET /leads``, segments, bulk actions and the
export select by.

Rules:
- ``LeadFilterInput`` is the filter as sent (query parameters, a segment's ``filters`` object);
  ``parse_filter`` checks its form and reports every problem with its field path (``status[1]``,
  ``filters.score_min``): ``q`` 1-200 characters, stage, owner and import ids are UUIDs
  (owner ``none`` means unassigned), sources from the list, scores 0-100 with min ≤ max, times
  RFC 3339 (a date alone is midnight UTC) with after < before;
- ``q`` matches name, email and company as a substring, case- and accent-insensitively;
- several values of one field match any of them; several tags must all be present;
- a filter given with a request must name what exists (``unknown_status``, ``unknown_tag``,
  ``unknown_owner``, ``unknown_import``; checked by the handlers); a saved segment is read
  leniently later: a stage, tag or owner gone since matches nothing;
- ``import_id`` selects the leads an import made (created, or restored from the trash), not
  those it updated or found already there;
- a cursor is bound to its query: sort, order and filters are fingerprinted into it, and a
  cursor from another query is ``invalid_cursor``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec

from scaliyo.application.leads.errors import InvalidCursor
from scaliyo.domain.leads.attributes import LeadSource
from scaliyo.domain.leads.tags import clean_tag, tag_key
from scaliyo.domain.leads.text import fold
from scaliyo.domain.shared.errors import FieldError, ValidationFailed

Q_MAX = 200
MAX_VALUES = 50
UNASSIGNED = "none"


class LeadFilterInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A filter as sent. Lists hold alternatives (tags: all of them)."""

    q: str | None = None
    status: list[str] = msgspec.field(default_factory=list)
    tag: list[str] = msgspec.field(default_factory=list)
    owner: list[str] = msgspec.field(default_factory=list)
    source: list[str] = msgspec.field(default_factory=list)
    import_id: list[str] = msgspec.field(default_factory=list)
    score_min: int | None = None
    score_max: int | None = None
    created_after: str | None = None
    created_before: str | None = None


class LeadFilter(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A checked filter. ``q`` is folded; ``tags`` are tag keys."""

    q: str | None = None
    statuses: tuple[UUID, ...] = ()
    tags: tuple[str, ...] = ()
    owners: tuple[UUID, ...] = ()
    unassigned: bool = False
    sources: tuple[LeadSource, ...] = ()
    imports: tuple[UUID, ...] = ()  # made by one of these imports
    score_min: int | None = None
    score_max: int | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    @property
    def owner_given(self) -> bool:
        return bool(self.owners) or self.unassigned


EVERYTHING = LeadFilter()


def parse_filter(raw: LeadFilterInput, *, prefix: str = "") -> LeadFilter:
    """The checked filter, or ``ValidationFailed`` naming every bad field."""
    errors: list[FieldError] = []

    def path(name: str) -> str:
        return f"{prefix}{name}"

    def many(name: str, values: list[str]) -> list[tuple[str, str]]:
        if len(values) > MAX_VALUES:
            errors.append(FieldError(path(name), "too_many", f"At most {MAX_VALUES} values."))
            return []
        return [
            (f"{path(name)}[{i}]" if len(values) > 1 else path(name), v)
            for i, v in enumerate(values)
        ]

    q = None
    if raw.q is not None:
        text = raw.q.strip()
        if len(text) > Q_MAX:
            errors.append(FieldError(path("q"), "too_long", f"At most {Q_MAX} characters."))
        elif text:
            q = fold(text) or None

    def ids(name: str, values: list[str], code: str, message: str) -> list[UUID]:
        found: list[UUID] = []
        for field, value in many(name, values):
            parsed = _uuid(value)
            if parsed is None:
                errors.append(FieldError(field, code, message))
            elif parsed not in found:
                found.append(parsed)
        return found

    statuses = ids("status", raw.status, "invalid_status", "A pipeline stage id.")

    tags: list[str] = []
    for field, value in many("tag", raw.tag):
        try:
            key = tag_key(clean_tag(value, field=field))
        except ValidationFailed as error:
            errors.extend(error.errors)
            continue
        if key not in tags:
            tags.append(key)

    owners: list[UUID] = []
    unassigned = False
    for field, value in many("owner", raw.owner):
        if value.strip().lower() == UNASSIGNED:
            unassigned = True
            continue
        parsed = _uuid(value)
        if parsed is None:
            errors.append(FieldError(field, "invalid_owner", "A member's user id, or none."))
        elif parsed not in owners:
            owners.append(parsed)

    sources: list[LeadSource] = []
    for field, value in many("source", raw.source):
        try:
            source = LeadSource(value.strip().lower())
        except ValueError:
            choices = ", ".join(s.value for s in LeadSource)
            errors.append(FieldError(field, "invalid_choice", f"One of: {choices}."))
            continue
        if source not in sources:
            sources.append(source)

    imports = ids("import_id", raw.import_id, "invalid_import", "An import's id.")

    for name, value in (("score_min", raw.score_min), ("score_max", raw.score_max)):
        if value is not None and not 0 <= value <= 100:
            errors.append(FieldError(path(name), "out_of_range", "A score is 0 to 100."))
    if raw.score_min is not None and raw.score_max is not None and raw.score_min > raw.score_max:
        errors.append(
            FieldError(path("score_max"), "out_of_range", "score_max is at least score_min.")
        )

    after = _moment(raw.created_after, path("created_after"), errors)
    before = _moment(raw.created_before, path("created_before"), errors)
    if after is not None and before is not None and after >= before:
        errors.append(
            FieldError(path("created_before"), "out_of_range", "Later than created_after.")
        )

    if errors:
        raise ValidationFailed("The filter is not valid.", errors=errors)
    return LeadFilter(
        q=q,
        statuses=tuple(statuses),
        tags=tuple(tags),
        owners=tuple(owners),
        unassigned=unassigned,
        sources=tuple(sources),
        imports=tuple(imports),
        score_min=raw.score_min,
        score_max=raw.score_max,
        created_after=after,
        created_before=before,
    )


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value.strip())
    except (ValueError, AttributeError):
        return None


def _moment(raw: str | None, field: str, errors: list[FieldError]) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if len(text) > 40:
        errors.append(FieldError(field, "invalid_datetime", "An RFC 3339 time."))
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        errors.append(
            FieldError(field, "invalid_datetime", "An RFC 3339 time like 2026-03-01T00:00:00Z.")
        )
        return None
    if moment.tzinfo is None:
        errors.append(FieldError(field, "invalid_datetime", "Give a time zone (Z for UTC)."))
        return None
    return moment.astimezone(UTC)


def filter_input(lead_filter: LeadFilter) -> LeadFilterInput:
    """A checked filter written back as input (how segments and jobs store it)."""
    owners = [str(owner) for owner in lead_filter.owners]
    if lead_filter.unassigned:
        owners.append(UNASSIGNED)
    return LeadFilterInput(
        q=lead_filter.q,
        status=[str(status) for status in lead_filter.statuses],
        tag=list(lead_filter.tags),
        owner=owners,
        source=[source.value for source in lead_filter.sources],
        import_id=[str(import_id) for import_id in lead_filter.imports],
        score_min=lead_filter.score_min,
        score_max=lead_filter.score_max,
        created_after=None
        if lead_filter.created_after is None
        else lead_filter.created_after.isoformat(),
        created_before=None
        if lead_filter.created_before is None
        else lead_filter.created_before.isoformat(),
    )


# --- sorting and cursors -------------------------------------------------------------------


class SortKey(StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    SCORE = "score"
    NAME = "name"


class Order(StrEnum):
    ASC = "asc"
    DESC = "desc"


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """Where a page ends: the sort key's value of the last lead, and its id."""

    value: Any
    id: UUID


def fingerprint(*parts: object) -> str:
    """A short digest of a query's shape; equal queries, equal fingerprints."""
    encoded = msgspec.json.encode(parts, order="deterministic")
    return hashlib.blake2b(encoded, digest_size=9).hexdigest()


def encode_cursor(query: str, sort: SortKey, position: Position) -> str:
    value = position.value
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = msgspec.json.encode([query, sort.value, value, str(position.id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, query: str, sort: SortKey) -> Position | None:
    """The position a cursor holds, or ``invalid_cursor`` when it is not one of this query's."""
    if cursor is None:
        return None
    if len(cursor) > 2048:
        raise InvalidCursor("The cursor is not one this API gave out.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        owner, sort_name, value, last_id = msgspec.json.decode(raw, type=tuple[str, str, Any, str])
        position_id = UUID(last_id)
    except (ValueError, binascii.Error, msgspec.DecodeError, TypeError):
        raise InvalidCursor("The cursor is not one this API gave out.") from None
    if owner != query or sort_name != sort.value:
        raise InvalidCursor()
    try:
        if sort in (SortKey.CREATED_AT, SortKey.UPDATED_AT):
            value = datetime.fromisoformat(value)
        elif sort is SortKey.SCORE:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError
        elif not isinstance(value, str):
            raise ValueError
    except (ValueError, TypeError):
        raise InvalidCursor("The cursor is not one this API gave out.") from None
    return Position(value=value, id=position_id)
