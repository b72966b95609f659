"""Importing rows of a file into leads: what happens to one row, and how a row's data is merged
into a lead that already exists.

Every data row ends in exactly one outcome, so ``created + updated + duplicates + invalid +
limit_reached`` is the number of data rows:
- ``invalid``: the row does not normalise (its field errors are reported, with the column);
- ``duplicates``: an earlier row of the file is the same lead (first occurrence wins, code
  ``duplicate``), or it matches a live lead that the duplicate policy leaves as it is (policy
  ``skip``, or nothing to change: code ``lead_exists``);
- ``created``: a new lead, or a soft-deleted one restored with the row's data;
- ``updated``: a live lead changed by the row under ``fill_empty`` or ``overwrite``;
- ``limit_reached``: a new or restored lead past the workspace's contact limit.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from scaliyo.domain.leads.dedup import KeyKind
from scaliyo.domain.leads.profile import LeadProfile


class DuplicatePolicy(StrEnum):
    SKIP = "skip"  # a matched live lead is left as it is
    FILL_EMPTY = "fill_empty"  # the row fills what the lead lacks
    OVERWRITE = "overwrite"  # the row's non-blank values replace the lead's


class RowOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DUPLICATE = "duplicates"
    INVALID = "invalid"
    LIMIT_REACHED = "limit_reached"


class ImportCounts(msgspec.Struct, kw_only=True):
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    invalid: int = 0
    limit_reached: int = 0

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.duplicates + self.invalid + self.limit_reached

    def count(self, outcome: RowOutcome, amount: int = 1) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + amount)

    def plus(self, other: ImportCounts) -> ImportCounts:
        return ImportCounts(
            **{name: getattr(self, name) + getattr(other, name) for name in self.__struct_fields__}
        )


_IDENTITY_FIELDS = {"email": KeyKind.EMAIL, "linkedin_url": KeyKind.LINKEDIN}


def merge_profile(
    existing: LeadProfile,
    incoming: LeadProfile,
    policy: DuplicatePolicy,
    *,
    withheld: frozenset[KeyKind] = frozenset(),
) -> LeadProfile:
    """The profile a matched lead gets from a row.

    - ``skip``: the existing profile;
    - ``fill_empty``: each field the lead lacks takes the row's value; custom fields the lead
      lacks are added;
    - ``overwrite``: each field the row has replaces the lead's; the row's custom fields
      replace the lead's of the same key; what the row leaves blank stays;
    - a key that belongs to another lead (``withheld``: the row's LinkedIn URL when its email
      matched this lead and its LinkedIn URL another) is never written.
    Merging is idempotent: merging the same row into the result changes nothing.
    """
    if policy is DuplicatePolicy.SKIP:
        return existing
    values = {}
    for name in LeadProfile.__struct_fields__:
        if name == "custom_fields":
            continue
        old, new = getattr(existing, name), getattr(incoming, name)
        if new is None or _IDENTITY_FIELDS.get(name) in withheld:
            values[name] = old
        elif policy is DuplicatePolicy.FILL_EMPTY:
            values[name] = new if old is None else old
        else:
            values[name] = new
    if policy is DuplicatePolicy.FILL_EMPTY:
        custom = {**incoming.custom_fields, **existing.custom_fields}
    else:
        custom = {**existing.custom_fields, **incoming.custom_fields}
    values["custom_fields"] = custom
    merged = LeadProfile(**values)
    return existing if merged == existing else merged
