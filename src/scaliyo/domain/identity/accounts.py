"""Accounts: sign-in errors and the workspace a new account starts with.

- Unknown addresses and wrong passwords are one answer (``invalid_credentials``), so sign-in
  reveals no account; only the right password learns that the address is not confirmed yet.
- A new account's workspace is named after the company part of its address (``jane@acme.io`` →
  "Acme"); a free-mail address says nothing of a company, so its workspace is "My workspace".
"""

from __future__ import annotations

from scaliyo.domain.shared.errors import DomainError, ErrorKind, NotFound

DEFAULT_WORKSPACE_NAME = "My workspace"

# Mailbox providers whose domain names no company (the common ones; a miss only costs a name).
FREE_MAIL_DOMAINS = frozenset(
    {
        "aol.com",
        "fastmail.com",
        "gmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "googlemail.com",
        "hey.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "icloud.com",
        "live.com",
        "mac.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "outlook.com",
        "pm.me",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "tutanota.com",
        "web.de",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
    }
)
# Second-level labels under which the company is one label further left (acme.co.uk).
_GENERIC_SECOND_LEVEL = frozenset({"ac", "co", "com", "edu", "gov", "ltd", "net", "org"})


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    kind = ErrorKind.UNAUTHENTICATED
    title = "The email address or the password is wrong"


class EmailNotConfirmed(DomainError):
    code = "email_not_confirmed"
    kind = ErrorKind.FORBIDDEN
    title = "Confirm your email address first"


class SessionNotFound(NotFound):
    code = "session_not_found"
    title = "No such session"


def default_workspace_name(email: str) -> str:
    """The name of the workspace signup creates for ``email`` (a normalised address)."""
    domain = email.rpartition("@")[2].strip(".").lower()
    if not domain or domain in FREE_MAIL_DOMAINS:
        return DEFAULT_WORKSPACE_NAME
    labels = [label for label in domain.split(".") if label]
    if len(labels) < 2:
        return DEFAULT_WORKSPACE_NAME
    company = labels[-2]
    if company in _GENERIC_SECOND_LEVEL and len(labels) >= 3:
        company = labels[-3]
    if company.startswith("xn--"):  # an IDNA label reads badly; the user renames it
        return DEFAULT_WORKSPACE_NAME
    name = " ".join(part.capitalize() for part in company.replace("_", "-").split("-") if part)
    return name[:100] or DEFAULT_WORKSPACE_NAME
