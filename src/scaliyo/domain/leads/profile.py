"""A lead's contact data: the raw input (``LeadInput``) and its normalised form
(``LeadProfile``), made by ``normalise_lead``.

Rules ``normalise_lead`` enforces (every problem is reported, each with its field path):
- blank text is absent; names, title, company, city, industry are white-space-folded and at
  most 255 characters, URLs 2048, emails 254; control characters are refused;
- email trimmed, validated without DNS, case-folded (``invalid_email``);
- website and LinkedIn URL canonicalised (``invalid_url``, ``invalid_linkedin_url``);
- company domain: the given one (any URL form; ``free_mail_domain`` refused), else the
  website's host, else the email's domain, never a free-mail domain, never ``www.``;
- country to ISO alpha-2 (``invalid_country``), time zone to its IANA spelling
  (``invalid_time_zone``), phone to E.164 when a country is known (``invalid_phone``);
- seniority, department, company size from their vocabularies;
- custom fields against the workspace's definitions (``custom_fields.<key>``);
- identity: an email, a LinkedIn URL, or first and last name with a company domain
  (``no_identity``).
``normalise_lead(profile.to_input(), fields) == profile`` for every profile it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from scaliyo.domain.leads.attributes import (
    CompanySize,
    Department,
    Seniority,
    parse_company_size,
    parse_department,
    parse_seniority,
)
from scaliyo.domain.leads.custom_fields import (
    NO_CUSTOM_FIELDS,
    CustomFieldSet,
    CustomValue,
    clean_custom_fields,
)
from scaliyo.domain.leads.emails import LeadEmail, normalise_email
from scaliyo.domain.leads.errors import NoIdentity
from scaliyo.domain.leads.phones import normalise_phone
from scaliyo.domain.leads.places import ISO_COUNTRIES, normalise_country, normalise_time_zone
from scaliyo.domain.leads.text import EMAIL_MAX, NAME_MAX, URL_MAX, clean_text
from scaliyo.domain.leads.web import (
    Url,
    company_domain_from,
    normalise_company_domain,
    normalise_linkedin_url,
    normalise_website,
    website_text,
)
from scaliyo.domain.shared.errors import FieldError, ValidationFailed

_T = TypeVar("_T")

NO_IDENTITY_MESSAGE = (
    "A lead needs an email, a LinkedIn URL, or a first and last name with a company domain."
)


class LeadInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Contact data as given by a person, an API client or a mapped CSV row. Nothing checked."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    company: str | None = None
    company_domain: str | None = None
    website: str | None = None
    linkedin_url: str | None = None
    phone: str | None = None
    city: str | None = None
    country: str | None = None
    time_zone: str | None = None
    industry: str | None = None
    company_size: str | int | None = None
    seniority: str | None = None
    department: str | None = None
    custom_fields: dict[str, Any] = {}


_TEXT_LIMITS: dict[str, int] = {
    "email": EMAIL_MAX,
    "first_name": NAME_MAX,
    "last_name": NAME_MAX,
    "title": NAME_MAX,
    "company": NAME_MAX,
    "company_domain": 253,
    "website": URL_MAX,
    "linkedin_url": URL_MAX,
    "phone": 32,
    "city": NAME_MAX,
    "industry": NAME_MAX,
}


class LeadProfile(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Normalised contact data. Only ``normalise_lead`` (or a decoder of stored, normalised
    data) should make one; the invariants below are the cheap ones."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    company: str | None = None
    company_domain: str | None = None
    website: str | None = None
    linkedin_url: str | None = None
    phone: str | None = None
    city: str | None = None
    country: str | None = None
    time_zone: str | None = None
    industry: str | None = None
    company_size: CompanySize | None = None
    seniority: Seniority | None = None
    department: Department | None = None
    custom_fields: dict[str, CustomValue] = {}

    def __post_init__(self) -> None:
        for name, limit in _TEXT_LIMITS.items():
            value = getattr(self, name)
            if value is not None and not 0 < len(value) <= limit:
                raise ValueError(f"{name} has 1 to {limit} characters")
        if self.country is not None and self.country not in ISO_COUNTRIES:
            raise ValueError("country is an ISO 3166-1 alpha-2 code")
        if not has_identity(self):
            raise ValueError(NO_IDENTITY_MESSAGE)

    def to_input(self) -> LeadInput:
        """The same data as input, e.g. to apply a PATCH and normalise again."""
        return LeadInput(**{f: getattr(self, f) for f in self.__struct_fields__})


def has_identity(profile: LeadProfile) -> bool:
    return bool(
        profile.email
        or profile.linkedin_url
        or (profile.first_name and profile.last_name and profile.company_domain)
    )


def normalise_lead(raw: LeadInput, fields: CustomFieldSet = NO_CUSTOM_FIELDS) -> LeadProfile:
    """The normalised profile, or ``ValidationFailed`` (``NoIdentity`` when that is the only
    problem) listing every field error."""
    try:
        values = _values_of_valid_fields(raw, fields)
    except ValidationFailed:
        # Some field is invalid: normalise again, field by field, to report every problem.
        values = None
    if values is None:
        values, errors = _values_and_every_error(raw, fields)
    else:
        errors = []
    identity_given = bool(
        values["email"]
        or values["linkedin_url"]
        or (values["first_name"] and values["last_name"] and values["company_domain"])
    )
    if not identity_given:
        identity_error = FieldError("email", "no_identity", NO_IDENTITY_MESSAGE)
        if not errors:
            raise NoIdentity(NO_IDENTITY_MESSAGE, errors=[identity_error])
        errors.append(identity_error)
    if errors:
        raise ValidationFailed("The lead is not valid.", errors=errors)
    return LeadProfile(**values)


def _values_of_valid_fields(raw: LeadInput, fields: CustomFieldSet) -> dict[str, Any]:
    """The normalised values, stopping at the first invalid field: the path of most rows.

    Same fields in the same order as :func:`_values_and_every_error` (so an unexpected error
    surfaces the same way), without its per-field bookkeeping.
    """
    email = normalise_email(raw.email)
    website = normalise_website(raw.website)
    country = normalise_country(raw.country)
    company_domain = normalise_company_domain(raw.company_domain)
    if company_domain is None and raw_blank(raw.company_domain):
        company_domain = _implied_company_domain(website, email)
    return {
        "email": email.address if email else None,
        "first_name": clean_text(raw.first_name, field="first_name"),
        "last_name": clean_text(raw.last_name, field="last_name"),
        "title": clean_text(raw.title, field="title"),
        "company": clean_text(raw.company, field="company"),
        "company_domain": company_domain,
        "website": website_text(website) if website else None,
        "linkedin_url": normalise_linkedin_url(raw.linkedin_url),
        "phone": normalise_phone(raw.phone, country),
        "city": clean_text(raw.city, field="city"),
        "country": country,
        "time_zone": normalise_time_zone(raw.time_zone),
        "industry": clean_text(raw.industry, field="industry"),
        "company_size": parse_company_size(raw.company_size),
        "seniority": parse_seniority(raw.seniority),
        "department": parse_department(raw.department),
        "custom_fields": clean_custom_fields(raw.custom_fields, fields) or {},
    }


def _values_and_every_error(
    raw: LeadInput, fields: CustomFieldSet
) -> tuple[dict[str, Any], list[FieldError]]:
    """The normalised values (``None`` where invalid) and every field's errors, in order."""
    errors: list[FieldError] = []

    def attempt(make: Callable[[], _T]) -> _T | None:
        try:
            return make()
        except ValidationFailed as error:
            errors.extend(error.errors)
            return None

    email = attempt(lambda: normalise_email(raw.email))
    website = attempt(lambda: normalise_website(raw.website))
    country = attempt(lambda: normalise_country(raw.country))
    company_domain = attempt(lambda: normalise_company_domain(raw.company_domain))
    if company_domain is None and raw_blank(raw.company_domain):
        company_domain = _implied_company_domain(website, email)
    values: dict[str, Any] = {
        "email": email.address if email else None,
        "first_name": attempt(lambda: clean_text(raw.first_name, field="first_name")),
        "last_name": attempt(lambda: clean_text(raw.last_name, field="last_name")),
        "title": attempt(lambda: clean_text(raw.title, field="title")),
        "company": attempt(lambda: clean_text(raw.company, field="company")),
        "company_domain": company_domain,
        "website": website_text(website) if website else None,
        "linkedin_url": attempt(lambda: normalise_linkedin_url(raw.linkedin_url)),
        "phone": attempt(lambda: normalise_phone(raw.phone, country)),
        "city": attempt(lambda: clean_text(raw.city, field="city")),
        "country": country,
        "time_zone": attempt(lambda: normalise_time_zone(raw.time_zone)),
        "industry": attempt(lambda: clean_text(raw.industry, field="industry")),
        "company_size": attempt(lambda: parse_company_size(raw.company_size)),
        "seniority": attempt(lambda: parse_seniority(raw.seniority)),
        "department": attempt(lambda: parse_department(raw.department)),
        "custom_fields": attempt(lambda: clean_custom_fields(raw.custom_fields, fields)) or {},
    }
    return values, errors


def _implied_company_domain(website: Url | None, email: LeadEmail | None) -> str | None:
    """No company domain given: the website's host, else the email's domain (no free mail)."""
    company_domain = None
    if website is not None:
        company_domain = company_domain_from(website.host)
    if company_domain is None and email is not None:
        company_domain = company_domain_from(email.ascii_domain)
    return company_domain


def raw_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def split_full_name(full_name: str | None) -> tuple[str | None, str | None]:
    """``"Jane van Doe"`` → (``"Jane"``, ``"van Doe"``): the first word is the first name.

    For CSVs with one name column. Any split gives the same identity key (first and last name
    are joined for it).
    """
    if not full_name:
        return None, None
    words = full_name.split()
    if not words:
        return None, None
    return words[0], " ".join(words[1:]) or None
