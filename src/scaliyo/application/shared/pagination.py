"""Cursor pagination: ``?limit=`` (default 50, max 200) and an opaque ``cursor``.

Ids are UUIDv7, so ordering by id is ordering by creation; the cursor is the last id seen.
"""

from __future__ import annotations

import base64
import binascii
from typing import Generic, TypeVar
from uuid import UUID

import msgspec

from scaliyo.domain.shared.errors import FieldError, ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")


class Page(msgspec.Struct, Generic[T], kw_only=True):
    items: list[T]
    next_cursor: str | None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            f"limit must be between 1 and {MAX_LIMIT}.",
            errors=[FieldError("limit", "out_of_range", f"Between 1 and {MAX_LIMIT}.")],
        )
    return limit


def encode_cursor(last_id: UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> UUID | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return UUID(bytes=raw)
    except (ValueError, binascii.Error):
        raise ValidationFailed(
            "The cursor is not one this API gave out.",
            errors=[FieldError("cursor", "invalid_cursor", "Not a cursor from this API.")],
        ) from None


def page_of(rows: list[T], limit: int, id_of) -> Page[T]:
    """Build a page from up to ``limit + 1`` rows fetched in order."""
    has_more = len(rows) > limit
    items = rows[:limit]
    return Page(items=items, next_cursor=encode_cursor(id_of(items[-1])) if has_more else None)
