from __future__ import annotations

from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaliyo.application.shared.pagination import (
    MAX_LIMIT,
    check_limit,
    decode_cursor,
    encode_cursor,
    page_of,
)
from scaliyo.domain.shared.errors import ValidationFailed


@given(st.uuids())
def test_cursor_round_trip(uuid):
    assert decode_cursor(encode_cursor(uuid)) == uuid


@given(st.text(max_size=40))
def test_a_foreign_cursor_is_a_validation_error_not_a_crash(raw):
    try:
        decoded = decode_cursor(raw)
    except ValidationFailed as error:
        assert error.errors[0].code == "invalid_cursor"
    else:
        assert isinstance(decoded, UUID)


@given(st.lists(st.integers(), max_size=30), st.integers(min_value=1, max_value=20))
def test_page_of_has_a_next_cursor_exactly_when_rows_remain(rows, limit):
    page = page_of([UUID(int=n % 2**128) for n in rows], limit, lambda u: u)
    assert len(page.items) == min(limit, len(rows))
    assert (page.next_cursor is not None) == (len(rows) > limit)


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1])
def test_limit_bounds(limit):
    with pytest.raises(ValidationFailed):
        check_limit(limit)
    assert check_limit(MAX_LIMIT) == MAX_LIMIT
