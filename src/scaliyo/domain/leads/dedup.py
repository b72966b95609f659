"""Lead identity: the dedup keys of a profile and how a candidate is resolved against the leads
(or earlier rows) that share a key with it.

Keys, strongest first: the email; the LinkedIn URL; first + last name + company domain
(accent-, case- and white-space-insensitive; first and last name are joined, so "Mary Ann" +
"Smith" and "Mary" + "Ann Smith" are one person).

Resolution (``resolve``):
- Email and LinkedIn URL identify a person: the first of them, in that order, that matches a
  lead picks it. When the email matches lead A and the LinkedIn URL matches lead B, A wins,
  the conflict is reported, and the LinkedIn URL is *withheld*: it must not be written onto A
  (it is B's).
- The name key is weak: it only matches when no strong key matched, and only a lead that does
  not contradict the candidate (no different email, no different LinkedIn URL, where both have
  one). Name keys are not unique; of several such leads the smallest id (UUIDv7: the oldest)
  is picked.
Storage follows from this: email and LinkedIn keys are unique per workspace, the name key is
indexed but not unique.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from uuid import UUID

import msgspec

from scaliyo.domain.leads.profile import LeadProfile
from scaliyo.domain.leads.text import fold


class KeyKind(StrEnum):
    EMAIL = "email"
    LINKEDIN = "linkedin_url"
    NAME = "name_company"


STRONG_KEYS = (KeyKind.EMAIL, KeyKind.LINKEDIN)
KEY_KINDS = tuple(KeyKind)  # strongest first; iterating the enum itself is slow per row


class DedupKeys(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    email: str | None = None
    linkedin: str | None = None
    name: str | None = None

    def get(self, kind: KeyKind) -> str | None:
        if kind is KeyKind.EMAIL:
            return self.email
        if kind is KeyKind.LINKEDIN:
            return self.linkedin
        return self.name

    @property
    def primary(self) -> tuple[KeyKind, str] | None:
        """The strongest key the lead has (the one named in DESIGN.md's order)."""
        for kind in KEY_KINDS:
            value = self.get(kind)
            if value is not None:
                return kind, value
        return None


def name_key(first_name: str | None, last_name: str | None, domain: str | None) -> str | None:
    """``"mary ann smith|acme.com"``; ``None`` unless all three are there."""
    if not (first_name and last_name and domain):
        return None
    person = fold(f"{first_name} {last_name}")
    company = domain.strip().lower()
    return f"{person}|{company}" if person and company else None


def dedup_keys(profile: LeadProfile) -> DedupKeys:
    """The keys of a normalised profile (its email and LinkedIn URL are canonical already)."""
    return DedupKeys(
        email=profile.email,
        linkedin=profile.linkedin_url,
        name=name_key(profile.first_name, profile.last_name, profile.company_domain),
    )


# A lead's id; or, deduplicating a file, an earlier row's number (a plain int: an index of a
# million rows holds no objects the garbage collector walks).
LeadRef = UUID | int


class KnownLead(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A lead (or an earlier row of a file) that shares at least one key with the candidate."""

    lead_id: LeadRef
    keys: DedupKeys


class Outcome(StrEnum):
    NEW = "new"
    MATCH = "match"
    CONFLICT = "conflict"  # a match, and another lead holds one of the candidate's keys


class KeyConflict(msgspec.Struct, frozen=True, kw_only=True):
    key: KeyKind
    lead_id: LeadRef


class Resolution(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    outcome: Outcome
    lead_id: LeadRef | None = None
    matched_by: KeyKind | None = None
    conflicts: tuple[KeyConflict, ...] = ()
    withheld: frozenset[KeyKind] = frozenset()


_NEW = Resolution(outcome=Outcome.NEW)


def _contradicts(candidate: DedupKeys, known: DedupKeys) -> bool:
    return any(
        candidate.get(kind) is not None
        and known.get(kind) is not None
        and candidate.get(kind) != known.get(kind)
        for kind in STRONG_KEYS
    )


def resolve(candidate: DedupKeys, known: Iterable[KnownLead]) -> Resolution:
    """Decide new, match, or match-with-conflict. ``known`` may hold any leads: those sharing
    no key with the candidate are ignored; the order does not matter."""
    leads = list(known)
    if not leads:  # most rows of an import: decided without looking at a key
        return _NEW
    by_kind: dict[KeyKind, list[LeadRef]] = {}
    for kind in KEY_KINDS:
        value = candidate.get(kind)
        if value is None:
            continue
        by_kind[kind] = sorted({lead.lead_id for lead in leads if lead.keys.get(kind) == value})
    winner: LeadRef | None = None
    matched_by: KeyKind | None = None
    for kind in STRONG_KEYS:
        if by_kind.get(kind):
            winner, matched_by = by_kind[kind][0], kind
            break
    if winner is None and by_kind.get(KeyKind.NAME):
        compatible = [
            lead.lead_id
            for lead in leads
            if lead.lead_id in by_kind[KeyKind.NAME] and not _contradicts(candidate, lead.keys)
        ]
        if compatible:
            winner, matched_by = min(compatible), KeyKind.NAME
    conflicts = tuple(
        KeyConflict(key=kind, lead_id=lead_id)
        for kind in STRONG_KEYS
        for lead_id in by_kind.get(kind, ())
        if lead_id != winner
    )
    if winner is None:
        return Resolution(outcome=Outcome.NEW)
    return Resolution(
        outcome=Outcome.CONFLICT if conflicts else Outcome.MATCH,
        lead_id=winner,
        matched_by=matched_by,
        conflicts=conflicts,
        withheld=frozenset(conflict.key for conflict in conflicts),
    )


class DedupIndex:
    """An in-memory index of keys, for deduplicating rows within one file: ``resolve`` against
    the rows added so far, then ``add`` the row (the first occurrence of a key keeps it).

    It may hold a million rows: keyed by plain strings, holding structs the garbage collector
    does not track (with row numbers, not UUIDs, for ids), so that collections do not walk it."""

    def __init__(self) -> None:
        self._emails: dict[str, KnownLead] = {}
        self._links: dict[str, KnownLead] = {}
        self._names: dict[str, KnownLead | list[KnownLead]] = {}  # a list once a name repeats

    def known(self, keys: DedupKeys) -> list[KnownLead]:
        found: dict[LeadRef, KnownLead] = {}
        if keys.email is not None and (lead := self._emails.get(keys.email)) is not None:
            found[lead.lead_id] = lead
        if keys.linkedin is not None and (lead := self._links.get(keys.linkedin)) is not None:
            found[lead.lead_id] = lead
        if keys.name is not None and (named := self._names.get(keys.name)) is not None:
            for lead in named if isinstance(named, list) else (named,):
                found[lead.lead_id] = lead
        return list(found.values())

    def resolve(self, keys: DedupKeys) -> Resolution:
        return resolve(keys, self.known(keys))

    def add(self, lead: KnownLead) -> None:
        keys = lead.keys
        if keys.email is not None:
            self._emails.setdefault(keys.email, lead)
        if keys.linkedin is not None:
            self._links.setdefault(keys.linkedin, lead)
        if keys.name is not None:
            named = self._names.get(keys.name)
            if named is None:
                self._names[keys.name] = lead
            elif isinstance(named, list):
                named.append(lead)
            else:
                self._names[keys.name] = [named, lead]
