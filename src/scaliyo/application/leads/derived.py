"""Values derived from a lead for storage: what the list sorts by and what ``q`` searches.

All are folded with the domain's ``fold`` (case, accents, white space), so sorting and
searching ignore them; the repository stores them beside the lead, and the list's cursor holds
the same ``sort_name``.

Search is by word prefix: a lead's terms are the words of its first and last name, email and
company (split at anything that is not a letter or digit); ``q`` matches a lead when every word
of ``q`` starts one of its terms ("jen hal" finds Jennifer Hall, "acme" finds @acme.com).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from scaliyo.domain.leads.profile import LeadProfile
from scaliyo.domain.leads.text import fold

TERM_MAX = 64
MAX_QUERY_WORDS = 8
_WORD = re.compile(r"[^\W_]+")


def sort_name(profile: LeadProfile) -> str:
    """The full name, else the email, else the LinkedIn URL."""
    name = " ".join(part for part in (profile.first_name, profile.last_name) if part)
    return fold(name) or profile.email or profile.linkedin_url or ""


def search_text(profile: LeadProfile) -> str:
    """Name, email and company in one folded text (the trash is searched by substring)."""
    parts = (profile.first_name, profile.last_name, profile.email, profile.company)
    return fold(" ".join(part for part in parts if part))


def words(text: str) -> list[str]:
    """The folded words of a text, in order, without repeats, each at most ``TERM_MAX``."""
    found = dict.fromkeys(word[:TERM_MAX] for word in _WORD.findall(fold(text)))
    return list(found)


def search_terms(profile: LeadProfile) -> list[str]:
    """The words a lead is found by, leaving out those that start another of its words (a query
    word that starts ``company`` starts ``company123`` too): the same leads match, with fewer
    rows to write. Sorted."""
    return terms_of(search_text(profile))


def terms_of(text: str) -> list[str]:
    """``search_terms`` of the lead whose ``search_text`` is ``text`` (folded already, so
    ``words`` would fold it again for nothing)."""
    return prefix_free({word[:TERM_MAX] for word in _WORD.findall(text)})


def prefix_free(found: Iterable[str]) -> list[str]:
    """``found`` (distinct words) without the words that start another one, sorted. In code
    point order a word that starts others comes right before one of them."""
    ordered = sorted(found)
    nexts = [*ordered[1:], ""]
    return [word for word, after in zip(ordered, nexts, strict=False) if not after.startswith(word)]


def query_words(q: str) -> list[str]:
    """The words of a search (at most ``MAX_QUERY_WORDS``; the rest narrow nothing more)."""
    return words(q)[:MAX_QUERY_WORDS]
