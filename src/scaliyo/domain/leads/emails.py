"""A lead's email address: validated for syntax (no DNS), trimmed and case-folded."""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from scaliyo.domain.leads.errors import invalid
from scaliyo.domain.leads.text import EMAIL_MAX, raw_text

# RFC 5322 dot-atom in ASCII: what nearly every address's local part is. For these the
# validator's verdict depends on the domain alone (and the total length), so the domain's
# verdict is cached: an import of a million rows validates each company's domain once.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


class LeadEmail:
    """A normalised address and the ASCII (IDNA) form of its domain."""

    __slots__ = ("address", "ascii_domain")

    def __init__(self, address: str, ascii_domain: str) -> None:
        self.address = address
        self.ascii_domain = ascii_domain


def normalise_email(raw: object, *, field: str = "email") -> LeadEmail | None:
    """``None`` for a blank value; else the address as stored and compared.

    The whole address is case-folded: mailbox providers treat local parts case-insensitively,
    and ``Jane@Acme.com`` and ``jane@acme.com`` must not become two leads.
    """
    candidate = raw_text(raw, field=field, max_length=EMAIL_MAX)
    if candidate is None:
        return None
    local, at, domain = candidate.rpartition("@")
    if at and _DOT_ATOM.fullmatch(local):
        checked = _domain(domain)
        if checked is not None:
            normal_domain, ascii_domain = checked
            forms = (candidate, f"{local}@{normal_domain}", f"{local}@{ascii_domain}")
            if all(len(form.encode()) <= EMAIL_MAX for form in forms):
                return _result(f"{local}@{normal_domain}", ascii_domain, field)
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as error:
        raise invalid(field, "invalid_email", str(error)) from None
    return _result(result.normalized, result.ascii_domain, field)


def _result(normalized: str, ascii_domain: str, field: str) -> LeadEmail:
    address = normalized.casefold()
    if len(address) > EMAIL_MAX:  # case folding can lengthen (ß → ss)
        raise invalid(field, "invalid_email", f"At most {EMAIL_MAX} characters.")
    return LeadEmail(address, ascii_domain.lower())


# Host names of ASCII letters, digits and inner hyphens with an alphabetic top-level label: for
# these the validator's verdict is "valid, lower-cased" unless the top-level label is reserved
# (its own list) or a label could be IDNA (``ab--``), which go to the validator. Checked
# against the validator in tests/unit/test_leads_normalisation.py.
_PLAIN_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_RESERVED_TOP = frozenset(SPECIAL_USE_DOMAIN_NAMES)


def plain_host(domain: str) -> str | None:
    """The domain lower-cased when it is a plain host name that the validator accepts as it
    is, else ``None`` (ask the validator)."""
    lowered = domain.lower()
    if (
        len(lowered) > 253
        or not lowered.isascii()
        or not _PLAIN_HOST.fullmatch(lowered)
        or "--" in lowered
        or lowered.rpartition(".")[2] in _RESERVED_TOP
    ):
        return None
    return lowered


@lru_cache(maxsize=65_536)
def _domain(domain: str) -> tuple[str, str] | None:
    """The validator's normalised and ASCII forms of a domain, or ``None`` if it refuses it."""
    plain = plain_host(domain)
    if plain is not None:
        return plain, plain
    try:
        result = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.domain, result.ascii_domain
