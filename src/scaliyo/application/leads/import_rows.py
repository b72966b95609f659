"""Preparing a batch of CSV records for an import: map, normalise, score and derive, with no
I/O, so batches can be prepared in other processes while the database works on the last one.

A prepared row holds either the normalised lead (with its tags, score, dedup keys and the
derived values it is stored with) or its problems, each named by the CSV column it came from.
Everything here is a pure function of (rules, records): preparing a batch twice gives the same
rows, which is what lets a resumed import rebuild its in-file duplicate index by replay.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from scaliyo.application.leads.derived import search_text, sort_name, terms_of
from scaliyo.domain.leads.column_mapping import ColumnChoice, Mapper
from scaliyo.domain.leads.csv_format import UNDECODABLE
from scaliyo.domain.leads.custom_fields import CustomFieldSet
from scaliyo.domain.leads.dedup import DedupKeys, dedup_keys
from scaliyo.domain.leads.icp import IdealCustomerProfile
from scaliyo.domain.leads.profile import LeadProfile, normalise_lead
from scaliyo.domain.leads.scoring import ScoreReason, score
from scaliyo.domain.leads.tags import clean_tags
from scaliyo.domain.shared.errors import ValidationFailed


class RowRules(msgspec.Struct, frozen=True, kw_only=True):
    """What preparing a row needs to know about the import and its workspace."""

    choices: tuple[ColumnChoice, ...]
    fields: CustomFieldSet
    icp: IdealCustomerProfile
    tags: tuple[str, ...] = ()  # given to every imported lead
    now: datetime
    # the upload's columns (its header's, or as many as the widest record of its sample): a
    # row with filled cells past them is refused; 0 for no such check
    width: int = 0


class RowProblem(msgspec.Struct, frozen=True, array_like=True, gc=False):
    column: str | None
    code: str
    message: str


class PreparedRow(msgspec.Struct, frozen=True, array_like=True, gc=False):
    row: int  # the record's number in the file, the header being row 1
    profile: LeadProfile | None = None
    problems: tuple[RowProblem, ...] = ()
    tags: tuple[str, ...] = ()
    keys: DedupKeys | None = None
    score: int = 0
    reasons: tuple[ScoreReason, ...] = ()
    sort_name: str = ""
    search_text: str = ""
    terms: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.profile is not None


NumberedRecord = tuple[int, list[str]]  # (row number in the file, cells)


def prepare_rows(rules: RowRules, records: list[NumberedRecord]) -> list[PreparedRow]:
    mapper = Mapper(list(rules.choices))
    return [prepare_row(rules, mapper, row, record) for row, record in records]


UNDECODABLE_MESSAGE = (
    "Some of this cell's bytes are not text in the encoding found at the start of the file: "
    "save the whole file as UTF-8 (in Excel: CSV UTF-8) and import it again."
)


def prepare_row(rules: RowRules, mapper: Mapper, row: int, record: list[str]) -> PreparedRow:
    if rules.width and len(record) > rules.width and any(map(str.strip, record[rules.width :])):
        # An unquoted delimiter in a cell (``Acme, Inc.``) splits it and shifts every cell
        # after it into the next column: imported, the title would read " Inc.".
        message = (
            f"This row has {len(record)} cells where the file has {rules.width} columns: a "
            "delimiter in a cell that is not quoted shifts the cells after it. Quote that "
            "cell (or remove the extra cells) and import the row again."
        )
        return PreparedRow(row=row, problems=(RowProblem(None, "too_many_cells", message),))
    if UNDECODABLE in "".join(record):  # rare: one check of the whole record first
        unreadable = tuple(
            RowProblem(column, "undecodable_text", UNDECODABLE_MESSAGE)
            for column in mapper.columns_holding(record, UNDECODABLE)
        )
        if unreadable:
            return PreparedRow(row=row, problems=unreadable)
    raw, row_tags = mapper.apply(record)
    try:
        profile = normalise_lead(raw, rules.fields)
        tags = clean_tags((*rules.tags, *row_tags)) if row_tags else rules.tags
    except ValidationFailed as failed:
        problems = tuple(
            RowProblem(mapper.column_of(error.field), error.code, error.message)
            for error in failed.errors
        ) or (RowProblem(None, failed.code, str(failed.detail)),)
        return PreparedRow(row=row, problems=problems)
    result = score(profile, rules.icp, (), rules.now)
    text = search_text(profile)
    return PreparedRow(
        row=row,
        profile=profile,
        tags=tags,
        keys=dedup_keys(profile),
        score=result.score,
        reasons=result.reasons,
        sort_name=sort_name(profile),
        search_text=text,
        terms=tuple(terms_of(text)),
    )


def derive(row: PreparedRow, profile: LeadProfile, rules: RowRules) -> PreparedRow:
    """``row`` with another profile (a merge into an existing lead) and what derives from it."""
    result = score(profile, rules.icp, (), rules.now)
    text = search_text(profile)
    return msgspec.structs.replace(
        row,
        profile=profile,
        keys=dedup_keys(profile),
        score=result.score,
        reasons=result.reasons,
        sort_name=sort_name(profile),
        search_text=text,
        terms=tuple(terms_of(text)),
    )


_ENCODE = msgspec.msgpack.Encoder()
_DECODE = msgspec.msgpack.Decoder(list[PreparedRow])
_DECODE_RECORDS = msgspec.msgpack.Decoder(list[NumberedRecord])


def prepare_encoded(rules: bytes, records: bytes) -> bytes:
    """``prepare_rows`` across a process boundary: msgpack in and out (far cheaper than
    pickling: 4,000 records encode in 0.9 ms, and pickled in 6)."""
    decoded = msgspec.msgpack.decode(rules, type=RowRules)
    return _ENCODE.encode(prepare_rows(decoded, _DECODE_RECORDS.decode(records)))


def encode_records(records: list[NumberedRecord]) -> bytes:
    return _ENCODE.encode(records)


def encode_rules(rules: RowRules) -> bytes:
    return _ENCODE.encode(rules)


def decode_prepared(data: bytes) -> list[PreparedRow]:
    return _DECODE.decode(data)
