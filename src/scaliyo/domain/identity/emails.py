"""Email addresses of users: validated (syntax only, no DNS) and normalised for look-up."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from scaliyo.domain.shared.errors import FieldError, ValidationFailed

MAX_EMAIL_LENGTH = 254


class InvalidEmail(ValidationFailed):
    code = "invalid_email"
    title = "The email address is not valid"


def normalize_email(raw: str, *, field: str = "email") -> str:
    """The address as we store and compare it: trimmed, IDNA-normalised, case-folded.

    The local part is case-folded too: every mainstream mailbox provider treats it
    case-insensitively, and two accounts differing only by case would be a support nightmare.
    """
    candidate = raw.strip()
    if not candidate or len(candidate) > MAX_EMAIL_LENGTH:
        raise _invalid(field, "Enter an email address of at most 254 characters.")
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as error:
        raise _invalid(field, str(error)) from None
    return result.normalized.casefold()


def mask_email(address: str) -> str:
    """``j***@example.com``: enough to recognise in logs, not enough to harvest."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _invalid(field: str, message: str) -> InvalidEmail:
    return InvalidEmail(message, errors=[FieldError(field, "invalid_email", message)])
