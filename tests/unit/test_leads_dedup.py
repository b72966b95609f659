"""Lead identity: which existing lead a candidate is, and what is reported when keys disagree."""

from __future__ import annotations

import random
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from scaliyo.domain.leads.dedup import (
    DedupIndex,
    DedupKeys,
    KeyConflict,
    KeyKind,
    KnownLead,
    Outcome,
    dedup_keys,
    resolve,
)
from scaliyo.domain.leads.profile import LeadInput, normalise_lead

A = UUID(int=1)
B = UUID(int=2)
C = UUID(int=3)


def known(lead_id: UUID, **keys: str | None) -> KnownLead:
    return KnownLead(lead_id=lead_id, keys=DedupKeys(**keys))


def test_email_matches_a_and_linkedin_matches_b_a_wins_and_the_conflict_is_reported():
    candidate = dedup_keys(
        normalise_lead(
            LeadInput(email="Jane@Acme.com", linkedin_url="https://uk.linkedin.com/in/jane-doe/")
        )
    )
    leads = [
        known(B, linkedin="https://www.linkedin.com/in/jane-doe"),
        known(A, email="jane@acme.com"),
    ]
    resolution = resolve(candidate, leads)
    assert resolution.outcome is Outcome.CONFLICT
    assert (resolution.lead_id, resolution.matched_by) == (A, KeyKind.EMAIL)
    assert resolution.conflicts == (KeyConflict(key=KeyKind.LINKEDIN, lead_id=B),)
    assert resolution.withheld == {KeyKind.LINKEDIN}


def test_no_shared_key_is_new_and_a_single_key_is_a_match():
    candidate = DedupKeys(email="jane@acme.com", linkedin="https://www.linkedin.com/in/jane")
    assert resolve(candidate, []).outcome is Outcome.NEW
    assert resolve(candidate, [known(A, email="john@acme.com")]).outcome is Outcome.NEW
    by_linkedin = resolve(
        candidate,
        [known(B, email="jane@old-job.com", linkedin="https://www.linkedin.com/in/jane")],
    )
    # The LinkedIn URL identifies the person even with another email (a job change).
    assert (by_linkedin.outcome, by_linkedin.lead_id, by_linkedin.matched_by) == (
        Outcome.MATCH,
        B,
        KeyKind.LINKEDIN,
    )
    both_on_one = resolve(
        candidate, [known(A, email="jane@acme.com", linkedin="https://www.linkedin.com/in/jane")]
    )
    assert (both_on_one.outcome, both_on_one.lead_id, both_on_one.conflicts) == (
        Outcome.MATCH,
        A,
        (),
    )


def test_the_name_key_is_weak():
    name = "jane doe|acme.com"
    only_name = DedupKeys(name=name)
    assert resolve(only_name, [known(B, email="jane@acme.com", name=name)]).lead_id == B
    # a different email on both sides: two people (or two addresses) — not merged
    other_email = DedupKeys(email="jane.doe@acme.com", name=name)
    assert resolve(other_email, [known(B, email="jane@acme.com", name=name)]).outcome is (
        Outcome.NEW
    )
    # the candidate's email is new, the existing lead has none: the same person
    assert resolve(other_email, [known(B, name=name)]).lead_id == B
    # several namesakes: the oldest (smallest UUIDv7) wins, no conflict is reported
    several = resolve(only_name, [known(C, name=name), known(B, name=name)])
    assert (several.outcome, several.lead_id, several.conflicts) == (Outcome.MATCH, B, ())
    # a strong key beats the name key, and a namesake is no conflict
    strong = resolve(
        DedupKeys(email="x@acme.com", name=name),
        [known(C, name=name), known(A, email="x@acme.com")],
    )
    assert (strong.outcome, strong.lead_id, strong.matched_by) == (
        Outcome.MATCH,
        A,
        KeyKind.EMAIL,
    )


def test_primary_key_follows_the_order_email_linkedin_name():
    assert DedupKeys(email="a@b.co", linkedin="l", name="n").primary == (KeyKind.EMAIL, "a@b.co")
    assert DedupKeys(linkedin="l", name="n").primary == (KeyKind.LINKEDIN, "l")
    assert DedupKeys(name="n").primary == (KeyKind.NAME, "n")
    assert DedupKeys().primary is None


# --- properties ---------------------------------------------------------------------------------

IDS = st.integers(1, 6).map(lambda n: UUID(int=n))
KEYS = st.builds(
    DedupKeys,
    email=st.sampled_from([None, "a@x.io", "b@x.io", "c@x.io"]),
    linkedin=st.sampled_from([None, "li/a", "li/b", "li/c"]),
    name=st.sampled_from([None, "ann lee|x.io", "bo li|x.io"]),
)
KNOWN = st.lists(
    st.builds(KnownLead, lead_id=IDS, keys=KEYS), max_size=6, unique_by=lambda k: k.lead_id
)


@settings(max_examples=400)
@given(candidate=KEYS, leads=KNOWN, seed=st.integers(0, 1000))
def test_resolution_is_deterministic_and_explains_itself(candidate, leads, seed):
    resolution = resolve(candidate, leads)
    shuffled = list(leads)
    random.Random(seed).shuffle(shuffled)
    assert resolve(candidate, shuffled) == resolution
    strong = [
        lead
        for kind in (KeyKind.EMAIL, KeyKind.LINKEDIN)
        for lead in leads
        if candidate.get(kind) is not None and lead.keys.get(kind) == candidate.get(kind)
    ]
    if strong:
        assert resolution.outcome is not Outcome.NEW
        email_holders = [
            lead.lead_id for lead in leads if candidate.email and lead.keys.email == candidate.email
        ]
        if email_holders:
            assert resolution.lead_id == min(email_holders)
    if resolution.outcome is Outcome.NEW:
        assert resolution.lead_id is None and not resolution.conflicts
        return
    winner = next(lead for lead in leads if lead.lead_id == resolution.lead_id)
    assert winner.keys.get(resolution.matched_by) == candidate.get(resolution.matched_by)
    assert (resolution.outcome is Outcome.CONFLICT) == bool(resolution.conflicts)
    for conflict in resolution.conflicts:
        holder = next(lead for lead in leads if lead.lead_id == conflict.lead_id)
        assert conflict.lead_id != resolution.lead_id
        assert holder.keys.get(conflict.key) == candidate.get(conflict.key)
        assert conflict.key in resolution.withheld


ROWS = st.lists(KEYS.filter(lambda k: k.primary is not None), max_size=30)


@settings(max_examples=300)
@given(ROWS)
def test_deduplicating_a_file_keeps_strong_keys_unique_and_a_second_pass_creates_nothing(rows):
    index = DedupIndex()
    created: list[KnownLead] = []
    for number, keys in enumerate(rows):
        resolution = index.resolve(keys)
        if resolution.outcome is Outcome.NEW:
            lead = KnownLead(lead_id=UUID(int=number + 1), keys=keys)
            index.add(lead)
            created.append(lead)
    for kind in (KeyKind.EMAIL, KeyKind.LINKEDIN):
        values = [lead.keys.get(kind) for lead in created if lead.keys.get(kind) is not None]
        assert len(values) == len(set(values)), f"two leads share a {kind}"
    for keys in rows:
        assert index.resolve(keys).outcome is not Outcome.NEW
