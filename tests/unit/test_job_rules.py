"""Domain rules of jobs: the retry backoff and progress invariants."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaliyo.domain.jobs.job import BACKOFF_BASE, BACKOFF_CAP, Progress, retry_delay

attempts = st.integers(min_value=1, max_value=10_000)


@given(attempts)
def test_a_retry_waits_at_least_the_base_and_at_most_the_cap(attempt):
    assert BACKOFF_BASE <= retry_delay(attempt) <= BACKOFF_CAP


@given(attempts)
def test_backoff_never_shrinks_and_doubles_until_the_cap(attempt):
    now, then = retry_delay(attempt), retry_delay(attempt + 1)
    assert then >= now
    assert then == min(now * 2, BACKOFF_CAP)


def test_backoff_examples():
    assert [retry_delay(n).total_seconds() for n in range(1, 5)] == [5, 10, 20, 40]
    assert retry_delay(50) == BACKOFF_CAP


@given(st.integers(max_value=0))
def test_attempts_count_from_one(attempt):
    with pytest.raises(ValueError, match="from 1"):
        retry_delay(attempt)


@given(st.integers(min_value=-10, max_value=10_000), st.none() | st.integers(-10, 10_000))
def test_progress_exists_only_within_its_invariants(processed, total):
    valid = processed >= 0 and (total is None or 0 <= processed <= total)
    if valid:
        progress = Progress(processed=processed, total=total)
        assert progress.processed == processed and progress.total == total
    else:
        with pytest.raises(ValueError):
            Progress(processed=processed, total=total)


@given(st.integers(min_value=-10, max_value=100), st.none() | st.integers(-10, 100))
def test_decoded_progress_keeps_the_same_invariants(processed, total):
    raw = msgspec.json.encode({"processed": processed, "total": total})
    valid = processed >= 0 and (total is None or 0 <= processed <= total)
    if valid:
        assert msgspec.json.decode(raw, type=Progress) == Progress(processed=processed, total=total)
    else:
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(raw, type=Progress)


def test_the_cap_is_reached_and_kept():
    capped = next(n for n in range(1, 100) if retry_delay(n) == BACKOFF_CAP)
    assert all(retry_delay(n) == BACKOFF_CAP for n in range(capped, capped + 50))
    assert retry_delay(capped - 1) < BACKOFF_CAP
    assert timedelta(minutes=10) == BACKOFF_CAP
