"""A lead's search terms: dropping the words that start another word finds the same leads."""

from hypothesis import given
from hypothesis import strategies as st

from scaliyo.application.leads.derived import (
    prefix_free,
    query_words,
    search_terms,
    search_text,
    words,
)
from scaliyo.domain.leads.profile import LeadInput
from tests.unit.test_leads_normalisation import lead_inputs, normalised_or_none

letters = st.text(alphabet="abcé1_ .@-", min_size=0, max_size=40)


@given(letters)
def test_every_prefix_of_every_word_still_starts_a_term(text: str) -> None:
    found = words(text)
    terms = prefix_free(found)
    assert set(terms) <= set(found)
    for word in found:
        for end in range(1, len(word) + 1):
            assert any(term.startswith(word[:end]) for term in terms)


@given(letters, letters)
def test_a_query_matches_the_pruned_terms_exactly_when_it_matches_all_words(
    text: str, q: str
) -> None:
    def matches(terms: list[str]) -> bool:
        return all(any(t.startswith(w) for t in terms) for w in query_words(q))

    assert matches(prefix_free(words(text))) == matches(words(text))


def test_words_that_start_others_are_left_out() -> None:
    found = words("Maria Company 123 maria.7@company123.example.com")
    assert prefix_free(found) == ["123", "7", "company123", "example", "maria"]


@given(lead_inputs(garbage=True))
def test_a_leads_terms_are_the_pruned_words_of_its_search_text(raw: LeadInput) -> None:
    profile = normalised_or_none(raw)
    if profile is not None:
        assert search_terms(profile) == prefix_free(words(search_text(profile)))
