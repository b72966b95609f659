"""Password rules: at least 10 characters, at most 1,024, not a common password, not the
account's own address. The common-password list is data handed in by the caller."""

from __future__ import annotations

import unicodedata
from collections.abc import Container

from scaliyo.domain.shared.errors import FieldError, ValidationFailed

MIN_LENGTH = 10
MAX_LENGTH = 1024


class WeakPassword(ValidationFailed):
    code = "weak_password"
    title = "The password is too weak"


def check_password(
    password: str, *, email: str | None, common: Container[str], field: str = "password"
) -> None:
    normalized = unicodedata.normalize("NFKC", password)
    problems: list[FieldError] = []
    if len(normalized) < MIN_LENGTH:
        problems.append(FieldError(field, "too_short", f"At least {MIN_LENGTH} characters."))
    elif len(normalized) > MAX_LENGTH:
        problems.append(FieldError(field, "too_long", f"At most {MAX_LENGTH} characters."))
    folded = normalized.casefold()
    if folded in common or folded.strip() in common:
        problems.append(
            FieldError(field, "common_password", "This password is among the most common ones.")
        )
    if email:
        local = email.partition("@")[0].casefold()
        if folded in {email.casefold(), local} or (len(local) >= 4 and folded == local * 2):
            problems.append(FieldError(field, "contains_email", "Do not use your email address."))
    if problems:
        raise WeakPassword(problems[0].message, errors=problems)
