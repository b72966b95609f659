"""Closed vocabularies of a lead: seniority, department, company size, source.

Each has a lenient parser for what exports and people write (``VP``, ``Vice President``,
``51 - 200``, ``120`` employees …). Seniority and department can also be read from a job
title; scoring does that when the field is empty (the stored value stays what was given).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from typing import TypeVar

from scaliyo.domain.leads.errors import invalid
from scaliyo.domain.leads.text import fold

_T = TypeVar("_T")


class LeadSource(StrEnum):
    CSV = "csv"
    APOLLO = "apollo"
    MANUAL = "manual"
    API = "api"


class Seniority(StrEnum):
    """Apollo's seniority levels, the de-facto standard of B2B data, highest first."""

    OWNER = "owner"
    FOUNDER = "founder"
    C_SUITE = "c_suite"
    PARTNER = "partner"
    VP = "vp"
    HEAD = "head"
    DIRECTOR = "director"
    MANAGER = "manager"
    SENIOR = "senior"
    ENTRY = "entry"
    INTERN = "intern"

    @property
    def label(self) -> str:
        return _SENIORITY_LABELS.get(self.value, self.value.capitalize())


class Department(StrEnum):
    EXECUTIVE = "executive"
    SALES = "sales"
    MARKETING = "marketing"
    ENGINEERING = "engineering"
    PRODUCT = "product"
    DESIGN = "design"
    OPERATIONS = "operations"
    FINANCE = "finance"
    HUMAN_RESOURCES = "human_resources"
    INFORMATION_TECHNOLOGY = "information_technology"
    LEGAL = "legal"
    CUSTOMER_SUCCESS = "customer_success"
    SUPPORT = "support"
    CONSULTING = "consulting"
    EDUCATION = "education"
    HEALTHCARE = "healthcare"
    OTHER = "other"

    @property
    def label(self) -> str:
        if self is Department.INFORMATION_TECHNOLOGY:
            return "IT"
        return self.value.replace("_", " ").capitalize()


_SENIORITY_LABELS = {"c_suite": "C-suite", "vp": "VP", "entry": "Entry level"}


class CompanySize(StrEnum):
    """Head-count bands (LinkedIn's, with 1 and 2-10 merged), smallest first."""

    S1_10 = "1-10"
    S11_50 = "11-50"
    S51_200 = "51-200"
    S201_500 = "201-500"
    S501_1000 = "501-1000"
    S1001_5000 = "1001-5000"
    S5001_10000 = "5001-10000"
    S10001_PLUS = "10001+"


COMPANY_SIZES: tuple[CompanySize, ...] = tuple(CompanySize)
_SIZE_UPPER_BOUNDS = (10, 50, 200, 500, 1000, 5000, 10000)


def company_size_for(employees: int) -> CompanySize:
    for bound, size in zip(_SIZE_UPPER_BOUNDS, COMPANY_SIZES, strict=False):
        if employees <= bound:
            return size
    return CompanySize.S10001_PLUS


def size_distance(a: CompanySize, b: CompanySize) -> int:
    return abs(COMPANY_SIZES.index(a) - COMPANY_SIZES.index(b))


_NUMBER = r"(\d{1,3}(?:[,.' ]\d{3})+|\d{1,9})"
_RANGE = re.compile(rf"^{_NUMBER}\s*(?:-|–|—|to)\s*{_NUMBER}")
_PLUS = re.compile(rf"^{_NUMBER}\s*\+")
_SINGLE = re.compile(rf"^{_NUMBER}(?:\s|$)")


def _int(text: str) -> int:
    return int(re.sub(r"[,.' ]", "", text))


def parse_company_size(raw: object, *, field: str = "company_size") -> CompanySize | None:
    """A band from ``51-200``, ``51 to 200``, ``10,001+``, ``120`` or ``self-employed``.

    A range that straddles our bands (``50-100``) takes the band of its midpoint.
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise invalid(field, "invalid_company_size", "Expected a head count or a band.")
    if isinstance(raw, int):
        if raw < 0:
            raise invalid(field, "invalid_company_size", "A head count cannot be negative.")
        return company_size_for(raw)
    if not isinstance(raw, str):
        raise invalid(field, "invalid_company_size", "Expected a head count or a band.")
    if len(raw) > 100:
        raise invalid(field, "too_long", "At most 100 characters.")
    if not raw.strip():
        return None
    size = _size_from_text(raw)
    if size is None:
        raise invalid(
            field, "invalid_company_size", "Enter a head count like 120 or a band like 51-200."
        )
    return size


@lru_cache(maxsize=4096)
def _size_from_text(raw: str) -> CompanySize | None:
    text = fold(raw)
    if text in {"self-employed", "self employed", "myself only", "solo", "1"}:
        return CompanySize.S1_10
    if match := _RANGE.match(text):
        low, high = _int(match.group(1)), _int(match.group(2))
        return company_size_for((low + high) // 2) if low <= high else None
    if match := _PLUS.match(text):
        return company_size_for(_int(match.group(1)) + 1)
    if match := _SINGLE.match(text):
        return company_size_for(_int(match.group(1)))
    return None


@lru_cache(maxsize=4096)
def _vocabulary_key(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+|_", " ", fold(text)).split())


_SENIORITY_ALIASES: dict[str, Seniority] = {
    **{_vocabulary_key(s.value): s for s in Seniority},
    "c level": Seniority.C_SUITE, "cxo": Seniority.C_SUITE,
    "executive": Seniority.C_SUITE, "chief": Seniority.C_SUITE,
    "vice president": Seniority.VP, "svp": Seniority.VP, "evp": Seniority.VP,
    "head of": Seniority.HEAD, "mid": Seniority.SENIOR, "individual contributor": Seniority.SENIOR,
    "junior": Seniority.ENTRY, "entry level": Seniority.ENTRY, "trainee": Seniority.INTERN,
    "internship": Seniority.INTERN, "co founder": Seniority.FOUNDER, "cofounder": Seniority.FOUNDER,
}  # fmt: skip

_DEPARTMENT_ALIASES: dict[str, Department] = {
    **{_vocabulary_key(d.value): d for d in Department},
    "c suite": Department.EXECUTIVE, "management": Department.EXECUTIVE,
    "business development": Department.SALES, "revenue": Department.SALES,
    "engineering technical": Department.ENGINEERING, "technical": Department.ENGINEERING,
    "r d": Department.ENGINEERING, "research and development": Department.ENGINEERING,
    "product management": Department.PRODUCT, "customer support": Department.SUPPORT,
    "ops": Department.OPERATIONS,
    "accounting": Department.FINANCE, "hr": Department.HUMAN_RESOURCES,
    "people": Department.HUMAN_RESOURCES, "talent": Department.HUMAN_RESOURCES,
    "it": Department.INFORMATION_TECHNOLOGY,
    "customer service": Department.SUPPORT, "medical": Department.HEALTHCARE,
    "medical health": Department.HEALTHCARE, "health": Department.HEALTHCARE,
}  # fmt: skip


def parse_seniority(raw: object, *, field: str = "seniority") -> Seniority | None:
    return _parse(raw, field, _SENIORITY_ALIASES, "invalid_seniority", Seniority)


def parse_department(raw: object, *, field: str = "department") -> Department | None:
    return _parse(raw, field, _DEPARTMENT_ALIASES, "invalid_department", Department)


def _parse(raw: object, field: str, aliases: dict[str, _T], code: str, kind: type) -> _T | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise invalid(field, code, "Expected text.")
    if len(raw) > 100:
        raise invalid(field, "too_long", "At most 100 characters.")
    key = _vocabulary_key(raw)
    if not key:
        return None
    if key in aliases:
        return aliases[key]
    choices = ", ".join(member.value for member in kind)
    raise invalid(field, code, f"Expected one of: {choices}.")


# Read in order; the first rule with a matching word wins ("Co-Founder & CEO" is a founder,
# "Vice President" is a VP before "President" can make it C-suite).
_SENIORITY_FROM_TITLE: tuple[tuple[Seniority, tuple[str, ...]], ...] = (
    (Seniority.INTERN, ("intern", "internship", "trainee", "werkstudent")),
    (Seniority.VP, ("vp", "svp", "evp", "avp", "vice president")),
    (Seniority.FOUNDER, ("founder", "co founder", "cofounder")),
    (Seniority.OWNER, ("owner", "proprietor")),
    (Seniority.C_SUITE, (
        "chief", "ceo", "cto", "cfo", "coo", "cmo", "cro", "cio", "cpo", "cso", "cdo", "ciso",
        "president", "managing director", "general manager",
    )),
    (Seniority.PARTNER, ("partner",)),
    (Seniority.HEAD, ("head",)),
    (Seniority.DIRECTOR, ("director",)),
    (Seniority.MANAGER, ("manager", "mgr", "team lead", "supervisor")),
    (Seniority.SENIOR, ("senior", "sr", "principal", "staff", "lead")),
    (Seniority.ENTRY, ("junior", "jr", "associate", "assistant", "graduate")),
)  # fmt: skip

_DEPARTMENT_FROM_TITLE: tuple[tuple[Department, tuple[str, ...]], ...] = (
    (Department.CUSTOMER_SUCCESS, ("customer success", "account manager", "client success")),
    (Department.SALES, (
        "sales", "account executive", "business development", "sdr", "bdr", "revenue", "cro",
    )),
    (Department.MARKETING, (
        "marketing", "growth", "demand generation", "brand", "content", "seo", "cmo",
    )),
    (Department.PRODUCT, ("product", "cpo")),
    (Department.DESIGN, ("design", "designer", "ux", "ui")),
    (Department.INFORMATION_TECHNOLOGY, (
        "it", "information technology", "cio", "ciso", "security", "sysadmin", "infrastructure",
    )),
    (Department.ENGINEERING, (
        "engineering", "engineer", "developer", "software", "devops", "cto", "technology",
    )),
    (Department.FINANCE, ("finance", "financial", "accounting", "accountant", "controller", "cfo")),
    (Department.HUMAN_RESOURCES, (
        "hr", "human resources", "people", "talent", "recruiter", "recruiting",
    )),
    (Department.LEGAL, ("legal", "counsel", "attorney", "lawyer", "compliance")),
    (Department.SUPPORT, ("support", "customer service", "helpdesk")),
    (Department.OPERATIONS, ("operations", "ops", "revops", "coo", "supply chain", "logistics")),
    (Department.CONSULTING, ("consultant", "consulting", "advisor")),
    (Department.EDUCATION, ("teacher", "professor", "lecturer", "education")),
    (Department.HEALTHCARE, ("physician", "nurse", "doctor", "medical", "clinical")),
    (Department.EXECUTIVE, (
        "ceo", "founder", "co founder", "owner", "president", "managing director", "chief",
    )),
)  # fmt: skip


def title_words(title: str) -> tuple[str, ...]:
    """The folded words of a title (letters and digits; everything else separates)."""
    return tuple(re.sub(r"[^\w]+|_", " ", fold(title)).split())


def _contains(words: tuple[str, ...], phrase: str) -> bool:
    wanted = phrase.split()
    size = len(wanted)
    return any(list(words[i : i + size]) == wanted for i in range(len(words) - size + 1))


def seniority_from_title(title: str | None) -> Seniority | None:
    return _seniority_from_title(title) if title else None


@lru_cache(maxsize=4096)
def _seniority_from_title(title: str) -> Seniority | None:
    words = title_words(title)
    for seniority, phrases in _SENIORITY_FROM_TITLE:
        if any(_contains(words, phrase) for phrase in phrases):
            return seniority
    return None


def department_from_title(title: str | None) -> Department | None:
    return _department_from_title(title) if title else None


@lru_cache(maxsize=4096)
def _department_from_title(title: str) -> Department | None:
    words = title_words(title)
    for department, phrases in _DEPARTMENT_FROM_TITLE:
        if any(_contains(words, phrase) for phrase in phrases):
            return department
    return None
