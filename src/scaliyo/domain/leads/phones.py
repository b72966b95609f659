"""Phone numbers: E.164 when the country is known (the lead's country, or a leading ``+``),
else the digits as given, with the ``+`` when there was one.

Numbers are checked for a plausible length (``is_possible_number``), not against each
carrier's allocation plan: a number that a plan update would reject is still the number the
user has, and its E.164 form is the same. Extensions (``ext. 12``, ``x12``) are dropped:
E.164 has none, and dialling tools do not use them.

Speed: an import reads a million numbers, and ``phonenumbers.parse`` costs some 35 µs each.
Numbers written as ASCII digits with plain separators, with or without a leading ``+``
(``+1 (415) 555-0100``, ``(415) 555-0100``), nearly every number in exports, take a shorter
path that does exactly what ``parse`` does for them (tests compare the two); every other form
goes through ``parse``.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
from phonenumbers import phonenumberutil as _util
from phonenumbers import re_util

from scaliyo.domain.leads.errors import invalid
from scaliyo.domain.leads.text import PHONE_MAX, raw_text

# Metadata patterns of every region stay compiled: an import of numbers from many countries
# otherwise recompiles those that fell out of the re module's 512-entry cache (~40 µs each).
re_util.enable_pattern_cache()

MIN_DIGITS = 4
MAX_DIGITS = 17  # E.164 allows 15; national forms with trunk and exit prefixes run longer
_NOT_DIGIT = re.compile(r"[^0-9]")
_LETTER = re.compile(r"[^\W\d_]")
_EXTENSION = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*\d{1,7}\s*$", re.IGNORECASE)
# ASCII digits and the separators people type, with an optional leading "+": no extension, no
# letter, and ``phonenumbers`` reads nothing from the separators.
_PLAIN_FORM = re.compile(r"\+?[0-9 ().-]*")
_INTERNATIONAL_PLAIN_FORM = re.compile(r"\+[0-9 ().-]*")
_NATIONAL_PLAIN_FORM = re.compile(r"[0-9 ().-]*")


def normalise_phone(raw: object, country: str | None, *, field: str = "phone") -> str | None:
    value = raw_text(raw, field=field, max_length=PHONE_MAX)
    if value is None:
        return None
    if _PLAIN_FORM.fullmatch(value):  # the usual form: nothing to strip, no letter
        digits = _NOT_DIGIT.sub("", value)
        has_letter = False
    else:
        value = _EXTENSION.sub("", value)
        if value.isascii():
            digits = _NOT_DIGIT.sub("", value)
        else:
            digits = "".join(str(int(ch)) for ch in value if ch.isdecimal())
        has_letter = _LETTER.search(value) is not None
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS or has_letter:
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
        if _INTERNATIONAL_PLAIN_FORM.fullmatch(value):
            number = parse_international(_NOT_DIGIT.sub("", value))
        elif country is not None and _NATIONAL_PLAIN_FORM.fullmatch(value):
            number = parse_national(_NOT_DIGIT.sub("", value), country)
        else:
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


def parse_international(digits: str) -> phonenumbers.PhoneNumber:
    """``phonenumbers.parse("+" + digits)`` for ASCII ``digits`` (at least 3 of them), without
    the steps that cannot change the result for such text (finding the number in the text,
    extensions, letters, Unicode digits). The remaining steps are ``parse``'s own, in order.

    Raises ``NumberParseException`` where ``parse`` would (the type may differ: callers only
    need to know that it failed).
    """
    country_code, national = _util._extract_country_code(digits)
    if country_code == 0:
        raise _failed(phonenumbers.NumberParseException.INVALID_COUNTRY_CODE)
    region = _util.region_code_for_country_code(country_code)
    metadata = _util.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    return _number(country_code, national, metadata)


def parse_national(digits: str, region: str) -> phonenumbers.PhoneNumber:
    """``phonenumbers.parse(digits, region)`` for ASCII ``digits`` (at least 4), as
    :func:`parse_international`: an exit prefix (``00``, ``011``) or the region's own calling
    code may lead the digits."""
    if region not in _util.SUPPORTED_REGIONS:
        raise _failed(phonenumbers.NumberParseException.INVALID_COUNTRY_CODE)
    metadata = _util.PhoneMetadata.metadata_for_region(region.upper(), None)
    country_code, national = _leading_country_code(digits, metadata)
    if country_code != 0:
        number_region = _util.region_code_for_country_code(country_code)
        if number_region != region:
            metadata = _util.PhoneMetadata.metadata_for_region_or_calling_code(
                country_code, number_region
            )
    else:
        country_code, national = metadata.country_code, digits
    return _number(country_code, national, metadata)


def _leading_country_code(digits: str, metadata: Any) -> tuple[int, str]:
    """``_maybe_extract_country_code`` of ``phonenumbers`` for national ASCII digits."""
    exit_prefix = re.compile(metadata.international_prefix or "NonMatch")
    prefix = exit_prefix.match(digits)
    if prefix:
        rest = digits[prefix.end() :]
        if not rest.startswith("0"):  # country codes never start with 0
            if len(rest) <= _util._MIN_LENGTH_FOR_NSN:
                raise _failed(phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD)
            country_code, national = _util._extract_country_code(rest)
            if country_code == 0:
                raise _failed(phonenumbers.NumberParseException.INVALID_COUNTRY_CODE)
            return country_code, national
    own_code = str(metadata.country_code)
    if digits.startswith(own_code):
        general = metadata.general_desc
        _, without_code, _ = _util._maybe_strip_national_prefix_carrier_code(
            digits[len(own_code) :], metadata
        )
        if (
            not _util._match_national_number(digits, general, False)
            and _util._match_national_number(without_code, general, False)
        ) or _util._test_number_length(digits, metadata) == _util.ValidationResult.TOO_LONG:
            return metadata.country_code, without_code
    return 0, ""


def _number(country_code: int, national: str, metadata: Any) -> phonenumbers.PhoneNumber:
    """The end of ``parse``: the national prefix dropped when what is left has a possible
    length, the length checked, leading zeros recorded."""
    if len(national) < _util._MIN_LENGTH_FOR_NSN:
        raise _failed(phonenumbers.NumberParseException.TOO_SHORT_NSN)
    if metadata is not None:
        _, without_prefix, _ = _util._maybe_strip_national_prefix_carrier_code(national, metadata)
        verdict = _util._test_number_length(without_prefix, metadata)
        if verdict not in _LENGTHS_KEEPING_THE_PREFIX:
            national = without_prefix
    if not _util._MIN_LENGTH_FOR_NSN <= len(national) <= _util._MAX_LENGTH_FOR_NSN:
        raise _failed(phonenumbers.NumberParseException.TOO_LONG)
    number = phonenumbers.PhoneNumber(country_code=country_code)
    _util._set_italian_leading_zeros_for_phone_number(national, number)
    number.national_number = int(national)
    return number


def _failed(kind: int) -> phonenumbers.NumberParseException:
    return phonenumbers.NumberParseException(kind, "Not a phone number.")


_LENGTHS_KEEPING_THE_PREFIX = (
    _util.ValidationResult.TOO_SHORT,
    _util.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    _util.ValidationResult.INVALID_LENGTH,
)
