"""Small text rules shared by contexts."""

from __future__ import annotations

import unicodedata


def clean_name(value: str) -> str:
    """NFC-normalise, strip, and collapse inner runs of white space to one space."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in value)
