"""Phone numbers: E.164 when the country is known (the lead's country, or a leading ``+``),
else the digits as given, with the ``+`` when there was one.

Numbers are checked for a plausible length (``is_possible_number``), not against each
carrier's allocation plan: a number that a plan update would reject is still the number the
user has, and its E.164 form is the same. Extensions (``ext. 12``, ``x12``) are dropped:
E.164 has none, and dialling tools do not use them.
"""

from __future__ import annotations

import re

import phonenumbers

from scaliyo.domain.leads.errors import invalid
from scaliyo.domain.leads.text import PHONE_MAX, raw_text

MIN_DIGITS = 4
MAX_DIGITS = 17  # E.164 allows 15; national forms with trunk and exit prefixes run longer
_NOT_DIGIT = re.compile(r"[^0-9]")
_LETTER = re.compile(r"[^\W\d_]")
_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*\d{1,7}\s*$", re.IGNORECASE)


def normalise_phone(raw: object, country: str | None, *, field: str = "phone") -> str | None:
    value = raw_text(raw, field=field, max_length=PHONE_MAX)
    if value is None:
        return None
    value = _EXTENSION.sub("", value)
    if value.isascii():
        digits = _NOT_DIGIT.sub("", value)
    else:
        digits = "".join(str(int(ch)) for ch in value if ch.isdecimal())
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS or _LETTER.search(value):
        raise invalid(field, "invalid_phone", "Enter a phone number like +1 415 555 0100.")
    plain = ("+" if value.startswith("+") else "") + digits
    # The raw text first (it may say more, e.g. "(0)"), then the plain form, which is what a
    # second normalisation sees: so the result is the same however often it is applied.
    for candidate in (value, plain):
        e164 = _e164(candidate, country)
        if e164 is not None:
            return e164
    return plain


def _e164(value: str, country: str | None) -> str | None:
    if not value.startswith("+") and country is None:
        return None
    try:
        number = phonenumbers.parse(value, None if value.startswith("+") else country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if len(e164) > 16:  # E.164 allows 15 digits; lenient metadata can read longer numbers
        return None
    # Degenerate inputs with leading zeros (all zeros) can format to an E.164 string that
    # reads back as another number; those stay digits, so normalising twice changes nothing.
    if number.italian_leading_zero and value != e164 and _e164(e164, None) != e164:
        return None
    return e164
