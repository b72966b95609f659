"""Importing rows into existing leads: the duplicate policies and their invariants."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scaliyo.domain.leads.dedup import KeyKind
from scaliyo.domain.leads.imports import DuplicatePolicy, ImportCounts, RowOutcome, merge_profile
from scaliyo.domain.leads.profile import LeadProfile

_text = st.one_of(st.none(), st.sampled_from(["Ada", "Grace", "Kate", "CTO", "VP", "Acme"]))
_emails = st.one_of(st.none(), st.sampled_from(["a@x.example", "b@x.example"]))
_links = st.one_of(
    st.none(),
    st.sampled_from(["https://www.linkedin.com/in/a", "https://www.linkedin.com/in/b"]),
)
_custom = st.dictionaries(st.sampled_from(["k1", "k2", "k3"]), st.sampled_from(["x", "y", 3]))


@st.composite
def profiles(draw) -> LeadProfile:
    return LeadProfile(
        email=draw(_emails) or "always@x.example",
        first_name=draw(_text),
        last_name=draw(_text),
        title=draw(_text),
        company=draw(_text),
        linkedin_url=draw(_links),
        city=draw(_text),
        custom_fields=draw(_custom),
    )


FIELDS = [f for f in LeadProfile.__struct_fields__ if f != "custom_fields"]


@given(profiles(), profiles(), st.sampled_from(list(DuplicatePolicy)), st.booleans())
def test_merging_is_idempotent_and_follows_the_policy(existing, incoming, policy, withhold):
    withheld = frozenset({KeyKind.LINKEDIN}) if withhold else frozenset()
    merged = merge_profile(existing, incoming, policy, withheld=withheld)
    assert merge_profile(merged, incoming, policy, withheld=withheld) == merged
    if policy is DuplicatePolicy.SKIP:
        assert merged == existing
        return
    assert merged.linkedin_url == (
        existing.linkedin_url
        if withhold or incoming.linkedin_url is None
        else (existing.linkedin_url or incoming.linkedin_url)
        if policy is DuplicatePolicy.FILL_EMPTY
        else incoming.linkedin_url
    )
    for name in FIELDS:
        old, new, got = getattr(existing, name), getattr(incoming, name), getattr(merged, name)
        if name == "linkedin_url":
            continue
        if policy is DuplicatePolicy.FILL_EMPTY:
            assert got == (old if old is not None else new)
        else:
            assert got == (new if new is not None else old)
    for key, value in existing.custom_fields.items():
        if policy is DuplicatePolicy.FILL_EMPTY or key not in incoming.custom_fields:
            assert merged.custom_fields[key] == value
    for key, value in incoming.custom_fields.items():
        if policy is DuplicatePolicy.OVERWRITE or key not in existing.custom_fields:
            assert merged.custom_fields[key] == value


@given(st.lists(st.sampled_from(list(RowOutcome)), max_size=50))
def test_every_row_lands_in_exactly_one_count(outcomes):
    counts = ImportCounts()
    for outcome in outcomes:
        counts.count(outcome)
    assert counts.rows == len(outcomes)
    assert counts.plus(counts).rows == 2 * len(outcomes)
