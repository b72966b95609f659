"""Small text rules shared by contexts."""

from __future__ import annotations

import unicodedata

_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def clean_name(value: str) -> str:
    """NFC-normalise, strip, and collapse inner runs of white space to one space."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def has_control_characters(value: str) -> bool:
    """Whether any character is a control, format, surrogate, private-use or unassigned one
    (Unicode categories Cc, Cf, Cs, Co, Cn)."""
    # ``str.isprintable`` is false for every character of those categories (and for white
    # space other than the space), so printable text, nearly all of it, needs no closer look.
    if value.isprintable():
        return False
    return any(unicodedata.category(ch) in _CONTROL_CATEGORIES for ch in value)
