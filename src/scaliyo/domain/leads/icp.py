"""The ideal customer profile (ICP) of a workspace: who its leads should be.

Criteria: seniorities, title keywords, departments, industries, company-size bands, countries.
An empty criterion means "no preference": scoring leaves it out and shares the fit points
among the criteria that are set.

Defaulting from onboarding (``default_icp``): the company's industry becomes the target
industry (most teams sell into their own vertical first), and the seniorities default to the
buyers of B2B software (owner, founder, C-suite, partner, VP, head, director). Onboarding's
role and team size describe the *user*, not their customers, so they set nothing. Every
default is shown and editable in ``/settings/icp``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from scaliyo.domain.leads.attributes import (
    CompanySize,
    Department,
    Seniority,
    parse_company_size,
    parse_department,
    parse_seniority,
)
from scaliyo.domain.leads.places import ISO_COUNTRIES, normalise_country
from scaliyo.domain.leads.text import clean_text, fold
from scaliyo.domain.shared.errors import FieldError, ValidationFailed

MAX_ENTRIES = 50
KEYWORD_MAX = 100

DECISION_MAKERS: tuple[Seniority, ...] = (
    Seniority.OWNER,
    Seniority.FOUNDER,
    Seniority.C_SUITE,
    Seniority.PARTNER,
    Seniority.VP,
    Seniority.HEAD,
    Seniority.DIRECTOR,
)


class IdealCustomerProfile(msgspec.Struct, frozen=True, kw_only=True):
    seniorities: tuple[Seniority, ...] = ()
    titles: tuple[str, ...] = ()
    departments: tuple[Department, ...] = ()
    industries: tuple[str, ...] = ()
    company_sizes: tuple[CompanySize, ...] = ()
    countries: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            values = getattr(self, name)
            if len(values) > MAX_ENTRIES:
                raise ValueError(f"{name} holds at most {MAX_ENTRIES} entries")
            keys = [fold(v) if isinstance(v, str) else v for v in values]
            if len(set(keys)) != len(keys):
                raise ValueError(f"{name} holds no duplicates")
        for keyword in (*self.titles, *self.industries):
            if not 0 < len(keyword) <= KEYWORD_MAX:
                raise ValueError(f"a title or industry has 1-{KEYWORD_MAX} characters")
        if not set(self.countries) <= ISO_COUNTRIES:
            raise ValueError("countries are ISO 3166-1 alpha-2 codes")

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in self.__struct_fields__)


class IcpInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT /settings/icp`` as sent: plain strings, checked by ``clean_icp``."""

    seniorities: list[str] = []
    titles: list[str] = []
    departments: list[str] = []
    industries: list[str] = []
    company_sizes: list[str] = []
    countries: list[str] = []


def clean_icp(raw: IcpInput) -> IdealCustomerProfile:
    """Parse and de-duplicate every list; errors name the entry (``titles[2]``)."""
    errors: list[FieldError] = []

    def each(name: str, values: Sequence[str], parse: Callable[..., Any]) -> tuple[Any, ...]:
        if len(values) > MAX_ENTRIES:
            errors.append(FieldError(name, "too_many", f"At most {MAX_ENTRIES} entries."))
            return ()
        result: list[Any] = []
        seen: set[object] = set()
        for index, value in enumerate(values):
            path = f"{name}[{index}]"
            try:
                parsed = parse(value, field=path)
            except ValidationFailed as error:
                errors.extend(error.errors)
                continue
            key = fold(parsed) if isinstance(parsed, str) else parsed
            if parsed is not None and key not in seen:
                seen.add(key)
                result.append(parsed)
        return tuple(result)

    def keyword(value: str, *, field: str) -> str | None:
        return clean_text(value, field=field, max_length=KEYWORD_MAX)

    profile = {
        "seniorities": each("seniorities", raw.seniorities, parse_seniority),
        "titles": each("titles", raw.titles, keyword),
        "departments": each("departments", raw.departments, parse_department),
        "industries": each("industries", raw.industries, keyword),
        "company_sizes": each("company_sizes", raw.company_sizes, parse_company_size),
        "countries": each("countries", raw.countries, normalise_country),
    }
    if errors:
        raise ValidationFailed("The ideal customer profile is not valid.", errors=errors)
    return IdealCustomerProfile(**profile)


def default_icp(company_industry: str | None = None) -> IdealCustomerProfile:
    """The ICP a new workspace starts with, from onboarding's company industry."""
    try:
        industry = clean_text(company_industry, field="industry", max_length=KEYWORD_MAX)
    except ValidationFailed:
        industry = None
    return IdealCustomerProfile(
        seniorities=DECISION_MAKERS, industries=(industry,) if industry else ()
    )
