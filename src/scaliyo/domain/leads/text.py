"""Text rules of lead fields: white-space folding, length limits, and the folded form used to
compare names case-, accent- and white-space-insensitively."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Generic, TypeVar

from scaliyo.domain.leads.errors import invalid
from scaliyo.domain.shared.errors import FieldError, ValidationFailed
from scaliyo.domain.shared.text import clean_name, has_control_characters

_T = TypeVar("_T")

NAME_MAX = 255  # first/last name, title, company, city, industry
URL_MAX = 2048
EMAIL_MAX = 254
PHONE_MAX = 64
TAG_MAX = 64
CUSTOM_TEXT_MAX = 2000


def clean_text(raw: object, *, field: str, max_length: int = NAME_MAX) -> str | None:
    """Trimmed, NFC, inner white space folded to one space; ``None`` when blank.

    Refuses non-text (``invalid_type``), text longer than ``max_length`` after folding
    (``too_long``) and control characters (``invalid_characters``).
    """
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise invalid(field, "invalid_type", "Expected text.")
    cleaned = clean_name(raw)
    if not cleaned:
        return None
    if len(cleaned) > max_length:
        raise invalid(field, "too_long", f"At most {max_length} characters.")
    if has_control_characters(cleaned):
        raise invalid(field, "invalid_characters", "Control characters are not allowed.")
    return cleaned


def raw_text(raw: object, *, field: str, max_length: int) -> str | None:
    """Trimmed text for fields parsed further (emails, URLs, phones): refuses what is too long
    before any parsing, so a 10,000-character cell costs nothing."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise invalid(field, "invalid_type", "Expected text.")
    if len(raw) > max_length + 64:  # generous for surrounding blanks; checked exactly below
        raise invalid(field, "too_long", f"At most {max_length} characters.")
    stripped = raw.strip()
    if not stripped:
        return None
    if len(stripped) > max_length:
        raise invalid(field, "too_long", f"At most {max_length} characters.")
    return stripped


def _fold_once(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    if decomposed.isascii():  # no combining marks to drop
        return decomposed
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(value: str) -> str:
    """Case-, accent- and white-space-insensitive form: casefold, NFKD, combining marks
    removed, white space folded. Repeated until stable (at most a few rounds), so that
    ``fold(fold(x)) == fold(x)``."""
    if value.isascii():  # most text: casefold is lower, NFKD changes nothing, one round
        return " ".join(value.lower().split())
    # Every step works on one word at a time (a white-space character is a starter, so NFKD
    # never reorders across it): the words, which repeat (names, companies), are folded once.
    return " ".join(" ".join(_fold_word(word) for word in value.split()).split())


@lru_cache(maxsize=65_536)
def _fold_word(word: str) -> str:
    current = word
    for _ in range(4):
        folded = " ".join(_fold_once(current).split())
        if folded == current:
            break
        current = folded
    return current


class RememberedVerdicts(Generic[_T]):
    """A text parser ``parse(value, field=...)`` that gives each (text, field) its verdict once.

    For fields whose values repeat across rows (a country, a time zone, a company's website):
    a million-row import parses each distinct value once. Rules:
    - only ``str`` values up to ``longest`` characters are remembered; anything else is parsed
      every time, so the cache stays small and other types keep their own handling;
    - a refusal is replayed as a new ``ValidationFailed`` of the same class, detail and field
      errors (an exception object, with its traceback, is never raised twice);
    - ``parse`` must be pure and return an immutable value (it is shared between calls).
    """

    def __init__(
        self, parse: Callable[..., _T], *, maxsize: int = 4096, longest: int = 256
    ) -> None:
        self._parse = parse
        self._longest = longest
        self._verdict = lru_cache(maxsize=maxsize)(self._judge)

    def __call__(self, raw: object, field: str) -> _T:
        if type(raw) is not str or len(raw) > self._longest:
            return self._parse(raw, field=field)
        accepted, outcome = self._verdict(raw, field)
        if accepted:
            return outcome
        kind, detail, errors = outcome
        raise kind(detail, errors=[FieldError(*error) for error in errors])

    def _judge(self, value: str, field: str) -> tuple[bool, object]:
        try:
            return True, self._parse(value, field=field)
        except ValidationFailed as error:
            errors = tuple((e.field, e.code, e.message) for e in error.errors)
            return False, (type(error), error.detail, errors)
