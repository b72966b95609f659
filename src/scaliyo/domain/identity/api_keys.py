"""API keys: ``sk_<key id>_<secret>``. The key id finds the row; only a hash of the secret is
stored, so the key is shown once, at creation."""

from __future__ import annotations

import re

from scaliyo.domain.shared.errors import FieldError, ValidationFailed
from scaliyo.domain.shared.text import clean_name, has_control_characters

KEY_ID_LENGTH = 16
SECRET_LENGTH = 64
_KEY = re.compile(rf"^sk_([0-9a-f]{{{KEY_ID_LENGTH}}})_([0-9a-f]{{{SECRET_LENGTH}}})$")
NAME_MAX_LENGTH = 100


def format_key(key_id: str, secret: str) -> str:
    if not _KEY.match(f"sk_{key_id}_{secret}"):
        raise ValueError("key id and secret must be lowercase hex of the fixed lengths")
    return f"sk_{key_id}_{secret}"


def parse_key(presented: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None (callers answer 401 either way)."""
    match = _KEY.match(presented.strip())
    return (match.group(1), match.group(2)) if match else None


def key_name(raw: str) -> str:
    name = clean_name(raw)
    if not name or len(name) > NAME_MAX_LENGTH or has_control_characters(name):
        raise ValidationFailed(
            "A key needs a name of 1 to 100 characters.",
            errors=[FieldError("name", "invalid", "1 to 100 characters, no control characters.")],
        )
    return name
