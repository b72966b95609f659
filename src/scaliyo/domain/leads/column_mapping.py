"""Which CSV column feeds which lead field: proposing a mapping from headers and sample values,
checking a mapping a client sends back, and applying one to records (``Mapper``).

Targets are the ``LeadInput`` fields, ``full_name`` (split into first and last name),
``tags`` (a cell of tags separated by ``,`` ``;`` or ``|``) and ``custom_fields.<key>`` for a
custom field the workspace defined; ``None`` ignores a column.

Headers are compared in a normal form that ignores case, accents, spaces, punctuation and
camelCase (``"Person - Email"``, ``"person_email"`` and ``"personEmail"`` are the same header).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

import msgspec

from scaliyo.domain.leads.custom_fields import CustomFieldSet
from scaliyo.domain.leads.profile import LeadInput, split_full_name
from scaliyo.domain.shared.errors import FieldError, ValidationFailed

LEAD_FIELDS: tuple[str, ...] = tuple(f for f in LeadInput.__struct_fields__ if f != "custom_fields")
FULL_NAME = "full_name"
TAGS = "tags"
CUSTOM_PREFIX = "custom_fields."
TARGETS: frozenset[str] = frozenset((*LEAD_FIELDS, FULL_NAME, TAGS))
MAX_COLUMN_NAME = 200


class ColumnChoice(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One column of a mapping. ``index`` (0-based) is authoritative, ``column`` is its display
    name; ``field`` is the target (``None`` ignores the column); ``confidence`` (0..1) says how
    sure a proposal is: 1.0 for a known header, less for a guess."""

    index: int
    column: str
    field: str | None
    confidence: float = 0.0


class InvalidMapping(ValidationFailed):
    code = "invalid_mapping"
    title = "The column mapping is not valid"


# ---------------------------------------------------------------------------------------------
# Column names


def header_names(first_record: list[str] | None, width: int) -> list[str]:
    """Display names of the columns of a file.

    Rules:
    - one name per column, ``max(width, len(first_record))`` names;
    - a header cell is stripped (and cut to 200 characters); a blank one, or any column
      without a header, is ``column_<n>`` (``n`` counting from 1);
    - names are unique ignoring case: a repeat gets `` (2)``, `` (3)``… (``"Email (2)"``).
    """
    cells = [cell.strip()[:MAX_COLUMN_NAME] for cell in first_record or []]
    names: list[str] = []
    taken: set[str] = set()
    for position in range(max(width, len(cells))):
        base = cells[position] if position < len(cells) and cells[position] else None
        name = base or f"column_{position + 1}"
        repeat = 1
        while name.casefold() in taken:
            repeat += 1
            name = f"{base or f'column_{position + 1}'} ({repeat})"
        taken.add(name.casefold())
        names.append(name)
    return names


def header_labels(columns: Sequence[str]) -> list[str]:
    """The columns a header names: ``columns`` (as ``header_names`` gives them) without the
    made-up names of the columns past the header, which only a wide row of the sample adds."""
    end = len(columns)
    while end and columns[end - 1] == f"column_{end}":
        end -= 1
    return list(columns[:end])


# ---------------------------------------------------------------------------------------------
# Header vocabulary

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=4096)
def header_words(header: str) -> tuple[str, ...]:
    """Lower-case ASCII words of a header: ``"Person - LinkedIn URL"`` → person, linked, in,
    url; ``"linkedInProfileUrl"`` the same way; accents dropped."""
    decomposed = unicodedata.normalize("NFKD", header)
    ascii_text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return tuple(_WORD.findall(_CAMEL.sub(" ", ascii_text).lower()))


def compact_header(header: str) -> str:
    """The normal form headers are compared in: ``"First Name"`` → ``"firstname"``."""
    return "".join(header_words(header))


# Aliases per target, with how sure the alias makes us (1.0 = the usual spelling). Several
# columns may claim one target (Apollo's phones): the surest, then the better filled, wins.
_ALIASES: dict[str, dict[float, str]] = {
    "email": {
        1.0: (
            "email; e-mail; email address; e-mail address; work email; business email; "
            "person email; person email work; email work; contact email; primary email; "
            "professional email; lead email"
        ),
        0.95: "email 1; email id; verified email",
        0.9: "mail; emails",
        0.85: "email home; person email home",
        0.8: "personal email",
        0.6: "secondary email; email 2; other email",
    },
    "first_name": {
        1.0: (
            "first name; firstname; given name; forename; person first name; contact first name; "
            "lead first name"
        ),
        0.9: "first",
    },
    "last_name": {
        1.0: (
            "last name; lastname; surname; family name; person last name; contact last name; "
            "lead last name"
        ),
        0.9: "last",
    },
    FULL_NAME: {
        1.0: (
            "full name; name; person name; contact name; lead name; prospect name; "
            "contact full name; person full name"
        ),
        0.9: "contact; person",
    },
    "title": {
        1.0: (
            "title; job title; jobtitle; job position; person job title; contact title; "
            "current title"
        ),
        0.95: "position; job role; current position",
        0.9: "role; designation",
        0.8: "occupation",
    },
    "company": {
        1.0: (
            "company; company name; account name; organization; organisation; organization name; "
            "organisation name; current company; business name; companyname; "
            "current company name"
        ),
        0.95: "employer; company name for emails; associated company",
        0.9: "account; firm",
    },
    "company_domain": {
        1.0: (
            "company domain; domain; company domain name; website domain; organization domain; "
            "account domain"
        ),
        0.6: "email domain",
    },
    "website": {
        1.0: (
            "website; website url; company website; web site; organization website; "
            "account website; web address; company website url"
        ),
        0.95: "homepage",
        0.9: "web",
        0.8: "url; company url; site",
    },
    "linkedin_url": {
        1.0: (
            "linkedin; linkedin url; person linkedin url; linkedin profile; linkedin profile url; "
            "linkedin link; default profile url; public profile url; linkedin profile link; "
            "linkedin address; contact linkedin url; person linkedin; linkedin public url"
        ),
        0.95: "profile url",
        0.9: "profile link; li url",
        0.7: "sales navigator url; sales navigator profile url; linkedin sales url",
    },
    "phone": {
        1.0: (
            "phone; phone number; telephone; person phone; person phone work; phone work; "
            "contact phone"
        ),
        0.98: "work direct phone; direct phone; direct dial",
        0.97: (
            "mobile phone; mobile; mobile number; cell phone; person phone mobile; phone mobile"
        ),
        0.96: "work phone; business phone",
        0.95: "phone 1; first phone",
        0.93: "corporate phone; office phone",
        0.9: "tel; cell; company phone",
        0.85: "home phone; other phone; phone home; person phone home",
        0.8: "phone 2",
    },
    "city": {
        1.0: "city; person city; mailing city; contact city; lead city",
        0.95: "town",
        0.9: "locality",
        0.6: "location",
    },
    "country": {
        1.0: (
            "country; country region; mailing country; person country; contact country; "
            "lead country"
        ),
        0.95: "country code",
        0.9: "nation",
        0.7: "company country; organization country",
    },
    "time_zone": {
        1.0: "time zone; timezone; iana time zone",
        0.9: "tz",
    },
    "industry": {
        1.0: "industry; company industry; organization industry; account industry",
        0.9: "sector; industries",
        0.8: "vertical",
    },
    "company_size": {
        1.0: (
            "employees; number of employees; num employees; no of employees; employee count; "
            "company size; headcount; company headcount; employees count; company employee count; "
            "company size range; organization employees; estimated num employees"
        ),
        0.95: "employee range; employees range",
        0.9: "staff count",
        0.8: "size",
    },
    "seniority": {
        1.0: "seniority; seniority level",
        0.9: "job level",
        0.7: "level",
    },
    "department": {
        1.0: "department; departments",
        0.95: "job function",
        0.9: "function; functional area",
        0.6: "team",
    },
    TAGS: {
        1.0: "tags; tag",
        0.9: "labels; label",
        0.8: "lists",
        0.7: "segments",
    },
}

# Headers exports carry that are known on purpose to feed nothing: they stop a near match
# ("Company Linkedin Url" is not the person's LinkedIn, "Email Status" is not an email).
_IGNORED = (
    "email status; email confidence; email sent; email open; email bounced; "
    "email verification status; email catch all status; email source; state; region; province; "
    "county; zip; zip code; postal code; street; address; mailing street; mailing state; "
    "mailing postal code; mailing address; company linkedin url; company linkedin; "
    "organization linkedin; company linkedin id; company profile url; company url linkedin; "
    "linkedin company url; company city; company state; company address; company street; "
    "company postal code; company zip; company phone number; twitter url; twitter; facebook url; "
    "facebook; instagram; github; keywords; technologies; annual revenue; revenue; total funding; "
    "latest funding; latest funding amount; last raised at; funding; seo description; "
    "short description; description; notes; note; id; record id; contact id; lead id; person id; "
    "account id; apollo contact id; apollo account id; organization id; owner; contact owner; "
    "lead owner; owner name; created; created at; created date; create date; updated at; "
    "last modified; last modified date; last activity; last activity date; stage; lead status; "
    "lead source; source; status; stage name; deal stage; salutation; middle name; suffix; "
    "prefix; headline; summary; about; connections; connection degree; premium; open link; vmid; "
    "profile picture; profile image url; picture; photo; image url; query; timestamp; school; "
    "education; company sic codes; sic codes; naics codes; number of retail locations; "
    "person linkedin id; linkedin id; member id; sales navigator id; company id; contact stage; "
    "last contacted; email last contacted; account owner; lifecycle stage; marketing status; "
    "email opt out; do not call; unsubscribed; score; lead score; rating"
)

_NAME_PREFIXES = frozenset(
    {"person", "contact", "lead", "prospect", "primary", "your", "the", "customer", "member"}
)
# A word that says what a header holds even among unknown words ("Work Email Address 2").
_KEYWORDS: dict[str, str] = {
    "email": "email",
    "phone": "phone",
    "mobile": "phone",
    "linkedin": "linkedin_url",
    "website": "website",
    "industry": "industry",
    "country": "country",
    "city": "city",
    "title": "title",
    "employees": "company_size",
    "seniority": "seniority",
    "department": "department",
    "tags": TAGS,
}
_COMPANY_WORDS = frozenset({"company", "organization", "organisation", "account", "employer"})

_KNOWN: dict[str, tuple[str | None, float]] = {}
for _target, _spellings in _ALIASES.items():
    for _confidence, _aliases in _spellings.items():
        for _alias in _aliases.split(";"):
            _KNOWN.setdefault(compact_header(_alias), (_target, _confidence))
for _alias in _IGNORED.split(";"):
    _KNOWN.setdefault(compact_header(_alias), (None, 1.0))
_KNOWN_KEYS = tuple(_KNOWN)
_FUZZY_MIN_LENGTH = 5
_FUZZY_CUTOFF = 0.85


@lru_cache(maxsize=4096)
def match_header(header: str) -> tuple[str | None, float]:
    """(target, confidence) a header suggests on its own, ``(None, 0.0)`` for an unknown one.

    Rules: an exact known spelling gives its alias confidence (1.0 for the usual spellings;
    a known header that feeds nothing gives ``(None, 1.0)``); after dropping a leading
    ``person``/``contact``/``lead``… word, 0.95 of that; a near spelling (difflib ratio ≥ 0.85,
    headers of 5+ letters) ratio x 0.85; a header with a telling word (``email``, ``phone``…)
    0.6.
    """
    words = header_words(header)
    key = "".join(words)
    if not key:
        return None, 0.0
    if key in _KNOWN:
        return _KNOWN[key]
    trimmed = list(words)
    while len(trimmed) > 1 and trimmed[0] in _NAME_PREFIXES:
        trimmed.pop(0)
    trimmed_key = "".join(trimmed)
    if trimmed_key != key and trimmed_key in _KNOWN:
        target, confidence = _KNOWN[trimmed_key]
        return target, round(confidence * 0.95, 2)
    if len(key) >= _FUZZY_MIN_LENGTH:
        close = difflib.get_close_matches(key, _KNOWN_KEYS, n=1, cutoff=_FUZZY_CUTOFF)
        if close:
            target, confidence = _KNOWN[close[0]]
            ratio = difflib.SequenceMatcher(None, key, close[0]).ratio()
            return target, round(confidence * ratio * 0.85, 2)
    about_company = any(word in _COMPANY_WORDS for word in words)
    for word in words:
        target = _KEYWORDS.get(word)
        if target is None or (about_company and target in {"linkedin_url", "email"}):
            continue
        return target, 0.6
    return None, 0.0


def is_known_header(cell: str) -> bool:
    """Whether a cell reads like a column label of a lead export (known or near spelling)."""
    target, confidence = match_header(cell)
    return confidence >= 0.7 and (target is not None or confidence == 1.0)


# ---------------------------------------------------------------------------------------------
# What a cell holds

_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;.]{2,}$")
_URL = re.compile(
    r"^(?:https?://|www\.)\S+$|^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?:/\S*)?$", re.I
)
_LINKEDIN_PERSON = re.compile(r"linkedin\.com/(?:in|pub)/", re.I)
_LINKEDIN_SALES = re.compile(r"linkedin\.com/sales/(?:lead|people)/", re.I)
_LINKEDIN_OTHER = re.compile(r"linkedin\.com/(?:company|school|showcase)/", re.I)
_NUMBERISH = re.compile(r"^[\d\s+\-().,/:%$€£#x]+$", re.I)


def looks_like_email(cell: str) -> bool:
    return bool(_EMAIL.match(cell.strip()))


def looks_like_url(cell: str) -> bool:
    return bool(_URL.match(cell.strip()))


def looks_like_value(cell: str) -> bool:
    """A cell that is data, not a label: an email, a URL, a number, phone or date, or long
    text."""
    text = cell.strip()
    return (
        len(text) > 100
        or looks_like_email(text)
        or looks_like_url(text)
        or (any(ch.isdigit() for ch in text) and bool(_NUMBERISH.match(text)))
    )


class _SampleShape(msgspec.Struct, frozen=True, kw_only=True):
    filled: float  # share of sample rows with a value
    emails: float  # shares of the values
    linkedin_people: float
    linkedin_sales: float
    linkedin_other: float
    urls: float


_NO_VALUES = _SampleShape(
    filled=0.0, emails=0.0, linkedin_people=0.0, linkedin_sales=0.0, linkedin_other=0.0, urls=0.0
)


def _sample_shape(values: list[str], rows: int) -> _SampleShape:
    if not values:
        return _NO_VALUES
    count = len(values)
    return _SampleShape(
        filled=count / max(rows, 1),
        emails=sum(map(looks_like_email, values)) / count,
        linkedin_people=sum(bool(_LINKEDIN_PERSON.search(v)) for v in values) / count,
        linkedin_sales=sum(bool(_LINKEDIN_SALES.search(v)) for v in values) / count,
        linkedin_other=sum(bool(_LINKEDIN_OTHER.search(v)) for v in values) / count,
        urls=sum(map(looks_like_url, values)) / count,
    )


# ---------------------------------------------------------------------------------------------
# Proposing


def _custom_match(header: str, fields: CustomFieldSet) -> tuple[str | None, float]:
    key = compact_header(header)
    if not key or not fields.fields:
        return None, 0.0
    names = {}
    for definition in fields.fields:
        for name in (definition.key, definition.label):
            names.setdefault(compact_header(name), definition.key)
    if key in names:
        return CUSTOM_PREFIX + names[key], 1.0
    if len(key) >= _FUZZY_MIN_LENGTH:
        close = difflib.get_close_matches(key, list(names), n=1, cutoff=_FUZZY_CUTOFF)
        if close:
            ratio = difflib.SequenceMatcher(None, key, close[0]).ratio()
            return CUSTOM_PREFIX + names[close[0]], round(ratio * 0.85, 2)
    return None, 0.0


def _column_guess(
    header: str, shape: _SampleShape, fields: CustomFieldSet
) -> tuple[str | None, float]:
    target, confidence = match_header(header)
    custom, custom_confidence = _custom_match(header, fields)
    if custom is not None and (
        custom_confidence > confidence or (target is None and custom_confidence >= confidence)
    ):
        return custom, custom_confidence
    if shape.filled == 0.0:
        return target, confidence
    # What the values say: they confirm a header, overrule a guess, or name an unknown column.
    if target == "linkedin_url" and shape.linkedin_other >= 0.5:
        return None, 0.0  # a company's LinkedIn page, not the person's
    known_to_feed_nothing = target is None and confidence == 1.0
    if (
        shape.linkedin_people + shape.linkedin_sales >= 0.6
        and target in {None, "linkedin_url", "website"}
        and not known_to_feed_nothing
    ):
        confidence = max(confidence, 0.9 if target == "linkedin_url" else 0.8)
        if shape.linkedin_sales > shape.linkedin_people:
            confidence *= 0.9  # a Sales Navigator link: a profile link is better
        return "linkedin_url", round(confidence, 2)
    if shape.emails >= 0.6:
        if target == "email":
            return target, max(confidence, 0.9)
        if not known_to_feed_nothing and confidence < 0.8:
            return "email", 0.8
    if target == "email" and shape.emails < 0.2:
        return target, round(confidence * 0.5, 2)
    if target is None and confidence == 0.0 and shape.urls >= 0.6 and not shape.linkedin_other:
        return "website", 0.6
    return target, confidence


def propose_mapping(
    columns: list[str], samples: list[list[str]], fields: CustomFieldSet
) -> list[ColumnChoice]:
    """A proposed mapping: one ``ColumnChoice`` per column, in column order.

    Rules:
    - a column's target comes from its header (known export headers of Apollo, HubSpot,
      Salesforce, Pipedrive, Sales Navigator tools and plain spreadsheets; near spellings get
      less confidence), from a custom field's key or label (``custom_fields.<key>``), or from
      its sample values (a column of emails → ``email``, of linkedin.com/in/ links →
      ``linkedin_url``, of other links → ``website``);
    - a column of company LinkedIn pages never feeds ``linkedin_url``;
    - each target is fed by at most one column (``tags`` by any number): the most confident
      wins, then the better filled, then the leftmost; the others are ignored (``None``, 0);
    - ``full_name`` is proposed beside first and last name (it fills them when they are blank).
    """
    rows = len(samples)
    guesses: list[tuple[str | None, float, float]] = []
    for index, header in enumerate(columns):
        values = [r[index] for r in samples if index < len(r) and r[index].strip()]
        shape = _sample_shape(values, rows)
        target, confidence = _column_guess(header, shape, fields)
        rank = confidence * (0.7 + 0.3 * shape.filled) if rows else confidence
        guesses.append((target, round(min(max(confidence, 0.0), 1.0), 2), rank))
    order = sorted(range(len(columns)), key=lambda i: (-guesses[i][2], i))
    taken: set[str] = set()
    chosen: dict[int, tuple[str | None, float]] = {}
    for index in order:
        target, confidence, _ = guesses[index]
        if target is not None and target != TAGS and target in taken:
            chosen[index] = (None, 0.0)
            continue
        if target is not None:
            taken.add(target)
        chosen[index] = (target, confidence if target is not None or confidence == 1.0 else 0.0)
    return [
        ColumnChoice(index=i, column=name, field=chosen[i][0], confidence=chosen[i][1])
        for i, name in enumerate(columns)
    ]


# ---------------------------------------------------------------------------------------------
# Checking


def _entry_value(entry: object, name: str) -> Any:
    if isinstance(entry, Mapping):
        return entry.get(name)
    return getattr(entry, name, None)


def _has_identity(targets: set[str]) -> bool:
    names = ("first_name" in targets and "last_name" in targets) or FULL_NAME in targets
    return bool(
        "email" in targets
        or "linkedin_url" in targets
        or (names and targets & {"company_domain", "website"})
    )


def check_mapping(
    choices: Iterable[object], columns: list[str], fields: CustomFieldSet
) -> list[ColumnChoice]:
    """The mapping a client sent back, checked; ``InvalidMapping`` (a ``ValidationFailed``)
    lists every problem with its path (``mapping[<i>].<part>``).

    ``choices`` are ``ColumnChoice``s or anything with ``index``, ``column`` (optional) and
    ``field`` (optional) attributes or keys; ``confidence`` is ignored.

    Rules:
    - ``index`` is a column of the file (``mapping[i].index`` ``unknown_column``), named once
      (``duplicate_column``);
    - ``column``, when given, is that column's name (``mapping[i].column`` ``unknown_column``);
    - ``field`` is ``None``, a target (``unknown_field``) or ``custom_fields.<key>`` of a
      defined custom field (``unknown_custom_field``);
    - no target is fed twice, except ``tags`` (``mapping[i].field`` ``duplicate_field``);
    - something identifies a lead: an email or LinkedIn column, or first and last name (or a
      full name) with a company domain or website (``mapping`` ``no_identity_column``).
    Returns the choices by column order with the file's column names.
    """
    custom_keys = {definition.key for definition in fields.fields}
    errors: list[FieldError] = []
    checked: list[ColumnChoice] = []
    seen_indexes: set[int] = set()
    targets: set[str] = set()
    for position, entry in enumerate(choices):
        path = f"mapping[{position}]"
        index = _entry_value(entry, "index")
        column = _entry_value(entry, "column")
        field = _entry_value(entry, "field")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(columns):
            errors.append(FieldError(f"{path}.index", "unknown_column", "No such column."))
            continue
        if index in seen_indexes:
            message = "This column is already mapped."
            errors.append(FieldError(f"{path}.index", "duplicate_column", message))
            continue
        seen_indexes.add(index)
        if column is not None and column != columns[index]:
            message = f"Column {index + 1} is named {columns[index]!r}."
            errors.append(FieldError(f"{path}.column", "unknown_column", message))
            continue
        if field is not None:
            problem = _field_problem(field, custom_keys)
            if problem is not None:
                errors.append(FieldError(f"{path}.field", *problem))
                continue
            if field in targets and field != TAGS:
                message = "Another column already feeds this field."
                errors.append(FieldError(f"{path}.field", "duplicate_field", message))
                continue
            targets.add(field)
        checked.append(ColumnChoice(index=index, column=columns[index], field=field))
    if not _has_identity(targets):
        message = (
            "Map a column that identifies a lead: an email, a LinkedIn URL, or first and last"
            " name (or full name) with a company domain or website."
        )
        errors.append(FieldError("mapping", "no_identity_column", message))
    if errors:
        raise InvalidMapping("The column mapping is not valid.", errors=errors)
    return sorted(checked, key=lambda choice: choice.index)


def _field_problem(field: object, custom_keys: set[str]) -> tuple[str, str] | None:
    if not isinstance(field, str):
        return "unknown_field", "No such field."
    if field.startswith(CUSTOM_PREFIX):
        if field[len(CUSTOM_PREFIX) :] in custom_keys:
            return None
        return "unknown_custom_field", "No such custom field."
    if field in TARGETS:
        return None
    return "unknown_field", "No such field."


# ---------------------------------------------------------------------------------------------
# Applying

_TAG_SEPARATORS = re.compile(r"[,;|]")


_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "mba", "esq", "cpa"})


def split_name_cell(cell: str) -> tuple[str | None, str | None]:
    """(first, last) of a full-name cell; ``"Doe, Jane"`` (one comma, not before a suffix like
    ``Jr.`` or ``PhD``) is last name first."""
    if cell.count(",") == 1:
        last, first = (part.strip() for part in cell.split(","))
        if first and last and first.rstrip(".").casefold() not in _NAME_SUFFIXES:
            return first, last
    return split_full_name(cell)


def _cells_getter(indexes: list[int]) -> Callable[[list[str]], tuple[str, ...]]:
    if not indexes:
        return lambda record: ()
    if len(indexes) == 1:
        index = indexes[0]
        return lambda record: (record[index],)
    return itemgetter(*indexes)


class Mapper:
    """A mapping compiled for speed: ``Mapper(choices).apply(record)`` per record.

    Rules ``apply`` enforces:
    - a missing cell (a short row) is blank, extra cells are ignored, blank cells are ``None``;
      cells are otherwise passed on as they are (``normalise_lead`` cleans them);
    - a full name fills first and last name where those are not mapped or blank;
    - a tags cell is split on ``,`` ``;`` ``|``, blanks dropped; tags of several columns add up;
    - custom field cells go to ``custom_fields`` by key.
    """

    __slots__ = (
        "_cells_used",
        "_columns",
        "_custom_cells",
        "_custom_keys",
        "_full_name",
        "_plain_cells",
        "_plain_fields",
        "_tags",
        "_width",
    )

    def __init__(self, choices: Iterable[ColumnChoice]) -> None:
        plain: list[tuple[int, str]] = []
        custom: list[tuple[int, str]] = []
        tags: list[int] = []
        full_name: int | None = None
        columns: dict[str, str] = {}
        cells_used: list[tuple[int, str]] = []
        for choice in choices:
            field = choice.field
            if field is None:
                continue
            cells_used.append((choice.index, choice.column))
            columns.setdefault(field, choice.column)
            if field == FULL_NAME:
                full_name = choice.index
            elif field == TAGS:
                tags.append(choice.index)
            elif field.startswith(CUSTOM_PREFIX):
                custom.append((choice.index, field[len(CUSTOM_PREFIX) :]))
            else:
                plain.append((choice.index, field))
        if FULL_NAME in columns:
            columns.setdefault("first_name", columns[FULL_NAME])
            columns.setdefault("last_name", columns[FULL_NAME])
        used = [i for i, _ in plain] + [i for i, _ in custom] + tags
        if full_name is not None:
            used.append(full_name)
        self._width = max(used, default=-1) + 1  # shorter records are padded to it
        self._plain_cells = _cells_getter([index for index, _ in plain])
        self._plain_fields = tuple(field for _, field in plain)
        self._custom_cells = _cells_getter([index for index, _ in custom])
        self._custom_keys = tuple(key for _, key in custom)
        self._tags = tuple(tags)
        self._full_name = full_name
        self._columns = columns
        self._cells_used = tuple(sorted(cells_used))

    def columns_holding(self, record: list[str], text: str) -> list[str]:
        """The mapped columns whose cell of ``record`` holds ``text``, in column order
        (unmapped cells are not imported, whatever they hold)."""
        return [
            column
            for index, column in self._cells_used
            if index < len(record) and text in record[index]
        ]

    def apply(self, record: list[str]) -> tuple[LeadInput, tuple[str, ...]]:
        """The raw lead of one record and the tags its cells give."""
        if len(record) < self._width:
            record = [*record, *[""] * (self._width - len(record))]
        values: dict[str, Any] = {
            field: cell
            for field, cell in zip(self._plain_fields, self._plain_cells(record), strict=True)
            if cell and not cell.isspace()
        }
        if self._full_name is not None and not ("first_name" in values and "last_name" in values):
            first, last = split_name_cell(record[self._full_name])
            if first and "first_name" not in values:
                values["first_name"] = first
            if last and "last_name" not in values:
                values["last_name"] = last
        if self._custom_keys:
            custom = {
                key: cell
                for key, cell in zip(self._custom_keys, self._custom_cells(record), strict=True)
                if cell and not cell.isspace()
            }
            if custom:
                values["custom_fields"] = custom
        tags: tuple[str, ...] = ()
        for index in self._tags:
            if record[index]:
                tags += tuple(filter(None, map(str.strip, _TAG_SEPARATORS.split(record[index]))))
        return LeadInput(**values), tags

    def column_of(self, field: str | None) -> str | None:
        """The CSV column a lead field (or error path: ``custom_fields.size``, ``tags[2]``)
        came from; ``None`` when no column feeds it (a derived company domain)."""
        if field is None:
            return None
        if field in self._columns:
            return self._columns[field]
        head = field.split("[", 1)[0]
        if head in self._columns:
            return self._columns[head]
        if field.startswith(CUSTOM_PREFIX):
            return self._columns.get(CUSTOM_PREFIX + field[len(CUSTOM_PREFIX) :].split(".")[0])
        return None


def apply_mapping(
    record: list[str], choices: Iterable[ColumnChoice]
) -> tuple[LeadInput, tuple[str, ...]]:
    """One record mapped (compiles the mapping each call: use ``Mapper`` for many records)."""
    return Mapper(choices).apply(record)
