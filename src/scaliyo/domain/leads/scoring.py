"""Explainable lead scores: 0-100 = fit (≤ 50) + engagement (≤ 35) + completeness (≤ 15).

- Fit: each ICP criterion that is set has a weight (seniority 12, title 12, department 8,
  industry 8, company size 6, country 4); the 50 points are shared among the set criteria in
  proportion. A criterion earns its share when the lead matches, half of it for the company
  size band next to a target band, and for titles half the share times the fraction of a
  target title's words found in the lead's title (all words: the full share). Title words
  match whole words, case- and accent-insensitively, with common abbreviations expanded
  (``VP`` = vice president, ``CEO`` = chief executive officer …). Seniority and department
  are read from the title when the lead has none.
- Engagement: human opens (2 points each, ≤ 10), clicks (6, ≤ 15) and replies (20, ≤ 25),
  each worth half as much every 14 days of age; bot and prefetch events count for nothing;
  the total is capped at 35 (scaled down proportionally).
- Completeness: email 3, phone 2, LinkedIn 2, title 2, company 2, full name 1, website or
  domain 1, location 1, industry 1.

Every reason has integer points and the points sum exactly to the score. Exact arithmetic in
thousandths of a point (rounded down, so no part exceeds its cap); the total is rounded half
up; then the largest-remainder method hands the integer points first to the three parts and
then, within each part, to its reasons (ties go to the earlier reason), so no part ever
exceeds its maximum and the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache

import msgspec

from scaliyo.domain.leads.attributes import (
    CompanySize,
    department_from_title,
    seniority_from_title,
    size_distance,
    title_words,
)
from scaliyo.domain.leads.icp import IdealCustomerProfile
from scaliyo.domain.leads.profile import LeadProfile

FIT_MAX = 50
ENGAGEMENT_MAX = 35
COMPLETENESS_MAX = 15
MILLI = 1000

FIT_WEIGHTS: dict[str, int] = {
    "seniority": 12,
    "title": 12,
    "department": 8,
    "industry": 8,
    "company_size": 6,
    "country": 4,
}
HALF_LIFE = timedelta(days=14)
HALF = Fraction(1, 2)


class EngagementKind(StrEnum):
    OPEN = "open"
    CLICK = "click"
    REPLY = "reply"


class Verdict(StrEnum):
    HUMAN = "human"
    BOT = "bot"
    PREFETCH = "prefetch"


# points per fresh event, cap for the kind, label nouns
ENGAGEMENT_RULES: dict[EngagementKind, tuple[int, int, str, str]] = {
    EngagementKind.OPEN: (2, 10, "open", "opens"),
    EngagementKind.CLICK: (6, 15, "click", "clicks"),
    EngagementKind.REPLY: (20, 25, "reply", "replies"),
}

COMPLETENESS_WEIGHTS: tuple[tuple[str, str, int], ...] = (
    ("email", "email", 3),
    ("phone", "phone", 2),
    ("linkedin_url", "LinkedIn URL", 2),
    ("title", "title", 2),
    ("company", "company", 2),
    ("full_name", "full name", 1),
    ("website", "website", 1),
    ("location", "location", 1),
    ("industry", "industry", 1),
)


class EngagementEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One tracked interaction with the lead, as the tracking context judged it."""

    kind: EngagementKind
    at: datetime
    verdict: Verdict = Verdict.HUMAN

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("engagement times are time-zone aware")


class ScoreReason(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    code: str
    label: str
    points: int

    def __post_init__(self) -> None:
        if not 0 <= self.points <= 100:
            raise ValueError("a reason is worth 0 to 100 points")


class LeadScore(msgspec.Struct, frozen=True, kw_only=True):
    score: int
    reasons: tuple[ScoreReason, ...]

    def __post_init__(self) -> None:
        if not 0 <= self.score <= 100:
            raise ValueError("a score is 0 to 100")
        if sum(reason.points for reason in self.reasons) != self.score:
            raise ValueError("the reasons' points sum to the score")


UNSCORED = LeadScore(score=0, reasons=())


class _Part:
    """A reason before rounding: its exact worth in thousandths of a point."""

    __slots__ = ("code", "label", "milli")

    def __init__(self, code: str, label: str, milli: int) -> None:
        self.code, self.label, self.milli = code, label, milli


def score(
    lead: LeadProfile,
    icp: IdealCustomerProfile,
    engagement: Iterable[EngagementEvent],
    now: datetime,
) -> LeadScore:
    if now.tzinfo is None:
        raise ValueError("now is time-zone aware")
    sections = (_fit(lead, icp), _engagement(engagement, now), _completeness(lead))
    return _assembled(
        tuple(
            tuple((part.code, part.label, part.milli) for part in section) for section in sections
        )
    )


_Section = tuple[tuple[str, str, int], ...]  # (code, label, thousandths of a point) a part


@lru_cache(maxsize=4096)
def _assembled(sections: tuple[_Section, ...]) -> LeadScore:
    """The score and its reasons from the sections' parts. Leads share their parts (the same
    ICP verdicts, the same missing fields), so a bulk import or re-score assembles each
    distinct combination once; a ``LeadScore`` is immutable, so it is shared."""
    totals = [sum(milli for _, _, milli in section) for section in sections]
    total = min(100, (sum(totals) + MILLI // 2) // MILLI)
    reasons: list[ScoreReason] = []
    for section, points in zip(sections, apportion(total, totals), strict=True):
        shares = apportion(points, [milli for _, _, milli in section])
        reasons.extend(
            ScoreReason(code=code, label=label, points=share)
            for (code, label, _), share in zip(section, shares, strict=True)
        )
    return LeadScore(score=total, reasons=tuple(reasons))


def apportion(total: int, parts: Sequence[int]) -> list[int]:
    """Split ``total`` whole points over parts given in thousandths: each part gets its whole
    points, then the rest go one each to the largest remainders (earlier part on a tie).
    ``total`` must lie between the sum of whole points and that plus the parts with a
    remainder, which holds when it is the rounded sum."""
    if len(parts) < 2:  # nothing to share out (most sections of a lead without engagement)
        low, high = (parts[0] // MILLI, -(-parts[0] // MILLI)) if parts else (0, 0)
        if not low <= total <= high:
            raise ValueError("the total does not round the parts")
        return [total] if parts else []
    shares = [milli // MILLI for milli in parts]
    rest = total - sum(shares)
    order = sorted(range(len(parts)), key=lambda i: (-(parts[i] % MILLI), i))
    eligible = [i for i in order if parts[i] % MILLI]
    if not 0 <= rest <= len(eligible):
        raise ValueError("the total does not round the parts")
    for index in eligible[:rest]:
        shares[index] += 1
    return shares


# --- fit ------------------------------------------------------------------------------------

_STOP_WORDS = frozenset({"of", "and", "the", "for", "in", "at", "to", "a", "an", "de", "und"})
_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "vp": ("vice", "president"),
    "svp": ("senior", "vice", "president"),
    "evp": ("executive", "vice", "president"),
    "avp": ("assistant", "vice", "president"),
    "sr": ("senior",),
    "jr": ("junior",),
    "mgr": ("manager",),
    "dir": ("director",),
    "ceo": ("chief", "executive", "officer"),
    "cto": ("chief", "technology", "officer"),
    "cfo": ("chief", "financial", "officer"),
    "coo": ("chief", "operating", "officer"),
    "cmo": ("chief", "marketing", "officer"),
    "cro": ("chief", "revenue", "officer"),
    "cio": ("chief", "information", "officer"),
    "cpo": ("chief", "product", "officer"),
    "sdr": ("sales", "development", "representative"),
    "bdr": ("business", "development", "representative"),
    "ae": ("account", "executive"),
}


@lru_cache(maxsize=8192)
def _words(text: str) -> frozenset[str]:
    words: set[str] = set()
    for word in title_words(text):
        words.update(_ABBREVIATIONS.get(word, (word,)))
    return frozenset(words - _STOP_WORDS)


def title_match(title: str, targets: Sequence[str]) -> tuple[Fraction, str | None]:
    """The best credit any target title earns, and that target."""
    have = _words(title)
    best, best_target = (0, 1), None
    for target in targets:
        wanted = _words(target)
        if not wanted:
            continue
        hits = len(wanted & have)
        credit = (1, 1) if hits == len(wanted) else (hits, 2 * len(wanted))
        if credit[0] * best[1] > best[0] * credit[1]:
            best, best_target = credit, target
    return Fraction(*best), best_target


def industry_matches(industry: str, targets: Sequence[str]) -> str | None:
    have = _words(industry)
    for target in targets:
        wanted = _words(target)
        if wanted and have and (wanted <= have or have <= wanted):
            return target
    return None


def _fit(lead: LeadProfile, icp: IdealCustomerProfile) -> list[_Part]:
    checks: list[tuple[str, Fraction | int, str]] = []  # criterion, credit (0..1), label
    if icp.seniorities:
        seniority, inferred = lead.seniority, False
        if seniority is None:
            seniority, inferred = seniority_from_title(lead.title), True
        if seniority is None:
            checks.append(("seniority", 0, "Seniority unknown"))
        else:
            shown = seniority.label + (" (from title)" if inferred else "")
            hit = seniority in icp.seniorities
            verdict = "is in your ICP" if hit else "is not in your ICP"
            checks.append(("seniority", int(hit), f"Seniority {shown} {verdict}"))
    if icp.titles:
        if not lead.title:
            checks.append(("title", 0, "No title"))
        else:
            credit, target = title_match(lead.title, icp.titles)
            if credit == 1:
                label = f"Title matches “{target}”"
            elif credit:
                label = f"Title partly matches “{target}”"
            else:
                label = "Title matches none of your ICP titles"
            checks.append(("title", credit, label))
    if icp.departments:
        department, inferred = lead.department, False
        if department is None:
            department, inferred = department_from_title(lead.title), True
        if department is None:
            checks.append(("department", 0, "Department unknown"))
        else:
            shown = department.label + (" (from title)" if inferred else "")
            hit = department in icp.departments
            verdict = "is in your ICP" if hit else "is not in your ICP"
            checks.append(("department", int(hit), f"Department {shown} {verdict}"))
    if icp.industries:
        if not lead.industry:
            checks.append(("industry", 0, "Industry unknown"))
        else:
            target = industry_matches(lead.industry, icp.industries)
            label = (
                f"Industry {lead.industry} matches “{target}”"
                if target
                else f"Industry {lead.industry} is not in your ICP"
            )
            checks.append(("industry", int(target is not None), label))
    if icp.company_sizes:
        checks.append(_size_check(lead.company_size, icp.company_sizes))
    if icp.countries:
        if not lead.country:
            checks.append(("country", 0, "Country unknown"))
        else:
            hit = lead.country in icp.countries
            verdict = "is in your ICP" if hit else "is not in your ICP"
            checks.append(("country", int(hit), f"Country {lead.country} {verdict}"))
    if not checks:
        return [_Part("fit.no_icp", "No ideal customer profile set: fit not scored", 0)]
    weight_sum = sum(FIT_WEIGHTS[criterion] for criterion, _, _ in checks)
    parts = []
    for criterion, credit, label in checks:
        numerator, denominator = (
            (credit.numerator, credit.denominator) if isinstance(credit, Fraction) else (credit, 1)
        )
        milli = FIT_MAX * MILLI * FIT_WEIGHTS[criterion] * numerator // (denominator * weight_sum)
        parts.append(_Part(f"fit.{criterion}", label, milli))  # rounded down: never over 50
    return parts


def _size_check(
    size: CompanySize | None, targets: Sequence[CompanySize]
) -> tuple[str, Fraction | int, str]:
    if size is None:
        return "company_size", 0, "Company size unknown"
    distance = min(size_distance(size, target) for target in targets)
    if distance == 0:
        return "company_size", 1, f"Company size {size.value} is in your ICP"
    if distance == 1:
        return "company_size", HALF, f"Company size {size.value} is next to your ICP"
    return "company_size", 0, f"Company size {size.value} is not in your ICP"


# --- engagement -----------------------------------------------------------------------------


def _engagement(events: Iterable[EngagementEvent], now: datetime) -> list[_Part]:
    weights: dict[EngagementKind, float] = {}
    counts: dict[EngagementKind, int] = {}
    latest: dict[EngagementKind, datetime] = {}
    half_life = HALF_LIFE.total_seconds()
    for event in events:
        if event.verdict is not Verdict.HUMAN:
            continue
        age = max(0.0, (now - event.at).total_seconds())
        weights[event.kind] = weights.get(event.kind, 0.0) + 0.5 ** (age / half_life)
        counts[event.kind] = counts.get(event.kind, 0) + 1
        if event.kind not in latest or event.at > latest[event.kind]:
            latest[event.kind] = event.at
    if not counts:  # no human events (every lead of an import)
        return []
    parts: list[_Part] = []
    for kind, (points, cap, noun, plural) in ENGAGEMENT_RULES.items():
        if kind not in counts:
            continue
        milli = int(min(float(cap), points * weights[kind]) * MILLI)  # rounds down
        days = max(0, (now - latest[kind]).days)
        count = counts[kind]
        when = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
        label = f"{count} human {noun if count == 1 else plural}, the latest {when}"
        parts.append(_Part(f"engagement.{kind.value}", label, milli))
    total = sum(part.milli for part in parts)
    if total > ENGAGEMENT_MAX * MILLI:
        for part in parts:
            part.milli = part.milli * ENGAGEMENT_MAX * MILLI // total
    return parts


# --- completeness ---------------------------------------------------------------------------


def _present(lead: LeadProfile) -> tuple[bool, ...]:
    """Which of ``COMPLETENESS_WEIGHTS`` the lead has, in that order."""
    return (
        bool(lead.email),
        bool(lead.phone),
        bool(lead.linkedin_url),
        bool(lead.title),
        bool(lead.company or lead.company_domain),
        bool(lead.first_name and lead.last_name),
        bool(lead.website or lead.company_domain),
        bool(lead.country or lead.city),
        bool(lead.industry),
    )


def _completeness(lead: LeadProfile) -> list[_Part]:
    points, label = _completeness_of(_present(lead))
    return [_Part("completeness", label, points * MILLI)]


@lru_cache(maxsize=1024)  # one entry per combination of present fields, at most 2**9
def _completeness_of(present: tuple[bool, ...]) -> tuple[int, str]:
    points = sum(w for (_, _, w), here in zip(COMPLETENESS_WEIGHTS, present, strict=True) if here)
    missing = [n for (_, n, _), here in zip(COMPLETENESS_WEIGHTS, present, strict=True) if not here]
    label = f"Profile {points}/{COMPLETENESS_MAX} complete"
    if missing:
        label += ": missing " + ", ".join(missing)
    return points, label
