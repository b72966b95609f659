"""Leads on PostgreSQL: rows mapped to ``Lead`` explicitly, filters to SQL, keyset pages.

Every statement names the workspace explicitly as well (row-level security would filter
anyway), so the planner knows which workspace a query is about and picks the indexes that
start with ``workspace_id``. Derived columns (``name_key``, ``sort_name``, ``search_text``,
``search_terms``, ``tag_keys``) are written from the domain's folding by ``lead_values``.

Under row-level security PostgreSQL uses only leakproof operators (``=``, ``<``, ``>`` on
uuids, numbers, times and text) as index conditions. So a live lead's tags and search words are
also rows of ``lead_tags`` and ``lead_search_terms`` (kept by every write here, removed while a
lead is deleted), and tag and text filters are semi-joins on their B-tree indexes: ``IN
(SELECT lead_id … WHERE tag_key = …)``, ``term >= word AND term < word || U+10FFFF``. A lead's
term rows are the ones its ``search_terms`` column lists; they are rewritten through the primary
key. Bulk paths that write leads without this repository (imports, the benchmark) write those
rows too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Row,
    Text,
    and_,
    any_,
    bindparam,
    delete,
    false,
    func,
    insert,
    intersect,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.tables import lead_search_terms, lead_tags, leads
from scaliyo.application.leads.derived import query_words, search_text, sort_name, terms_of
from scaliyo.application.leads.errors import LeadExists
from scaliyo.application.leads.filters import LeadFilter, Order, Position, SortKey
from scaliyo.application.leads.ports import Selection, TagCount
from scaliyo.domain.leads.attributes import CompanySize, Department, LeadSource, Seniority
from scaliyo.domain.leads.dedup import DedupKeys, KnownLead, name_key
from scaliyo.domain.leads.errors import UnknownStatus
from scaliyo.domain.leads.lead import Lead, LeadId
from scaliyo.domain.leads.profile import LeadProfile
from scaliyo.domain.leads.scoring import ScoreReason
from scaliyo.domain.leads.tags import tag_key
from scaliyo.domain.shared.errors import FieldError
from scaliyo.domain.shared.ids import UserId, WorkspaceId

PROFILE_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "title",
    "company",
    "company_domain",
    "website",
    "linkedin_url",
    "phone",
    "city",
    "country",
    "time_zone",
    "industry",
)
LEAD_COLUMNS = [
    leads.c.id,
    leads.c.workspace_id,
    *(leads.c[name] for name in PROFILE_COLUMNS),
    leads.c.company_size,
    leads.c.seniority,
    leads.c.department,
    leads.c.custom_fields,
    leads.c.source,
    leads.c.status,
    leads.c.owner_id,
    leads.c.tags,
    leads.c.score,
    leads.c.score_reasons,
    leads.c.created_at,
    leads.c.updated_at,
    leads.c.deleted_at,
    leads.c.import_id,
]
SORT_COLUMNS = {
    SortKey.CREATED_AT: leads.c.created_at,
    SortKey.UPDATED_AT: leads.c.updated_at,
    SortKey.SCORE: leads.c.score,
    SortKey.NAME: leads.c.sort_name,
}
_KEY_CONSTRAINTS = {
    "ux_leads_workspace_id_email": "email",
    "ux_leads_workspace_id_linkedin_url": "linkedin_url",
}
_STATUS_CONSTRAINT = "fk_leads_status_pipeline_stages"
# ``import_id`` is written by the import that makes a lead, never by a save.
_UPDATED = [
    c.name for c in leads.columns if c.name not in {"id", "workspace_id", "created_at", "import_id"}
]
_SAVE_MANY = (
    update(leads)
    .where(leads.c.id == bindparam("lead_id"))
    .values({name: bindparam(name) for name in _UPDATED})
)


def profile_values(profile: LeadProfile) -> dict[str, Any]:
    """The contact-data columns of a lead's row (custom fields as a dict)."""
    return {
        **{name: getattr(profile, name) for name in PROFILE_COLUMNS},
        "company_size": None if profile.company_size is None else profile.company_size.value,
        "seniority": None if profile.seniority is None else profile.seniority.value,
        "department": None if profile.department is None else profile.department.value,
        "custom_fields": dict(profile.custom_fields),
    }


def lead_values(lead: Lead) -> dict[str, Any]:
    """Every column of a lead's row, derived ones included."""
    profile = lead.profile
    searched = search_text(profile)
    return {
        "id": lead.id,
        "workspace_id": lead.workspace_id,
        **profile_values(profile),
        "source": lead.source.value,
        "status": lead.status,
        "owner_id": lead.owner_id,
        "tags": list(lead.tags),
        "tag_keys": [tag_key(tag) for tag in lead.tags],
        "score": lead.score,
        "score_reasons": [
            {"code": r.code, "label": r.label, "points": r.points} for r in lead.score_reasons
        ],
        "name_key": name_key(profile.first_name, profile.last_name, profile.company_domain),
        "sort_name": sort_name(profile),
        "search_text": searched,
        "search_terms": "" if lead.is_deleted else " ".join(terms_of(searched)),
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
        "deleted_at": lead.deleted_at,
    }


def lead_from_row(row: Row) -> Lead:
    profile = LeadProfile(
        **{name: getattr(row, name) for name in PROFILE_COLUMNS},
        company_size=None if row.company_size is None else CompanySize(row.company_size),
        seniority=None if row.seniority is None else Seniority(row.seniority),
        department=None if row.department is None else Department(row.department),
        custom_fields=row.custom_fields,
    )
    return Lead(
        id=LeadId(row.id),
        workspace_id=WorkspaceId(row.workspace_id),
        profile=profile,
        source=LeadSource(row.source),
        status=row.status,
        owner_id=None if row.owner_id is None else UserId(row.owner_id),
        tags=tuple(row.tags),
        score=row.score,
        score_reasons=tuple(
            ScoreReason(code=r["code"], label=r["label"], points=r["points"])
            for r in row.score_reasons
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
        import_id=row.import_id,
    )


def like_pattern(folded: str) -> str:
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# Above every character: ``term < word || TOP`` bounds the terms that start with ``word`` (the
# column's collation is "C": code point order).
TOP = "\U0010ffff"
# How many matches of a search word make it "common" (checked by a probe per lead rather than
# gathered as candidates).
SEARCH_CAP = 50_000
# Up to this many candidates are looked up by id; more are checked while walking the list.
SMALL_SET = 5000
# Words this short start a great many terms: counting them up to SEARCH_CAP costs more than
# asking the newest SAMPLE leads; if SAMPLE_HITS of them have every word, the list is walked
# (a page fills within some SAMPLE * limit / SAMPLE_HITS leads), else the words are counted.
# Walking reads leads in the order they were written, about six times cheaper a lead than
# looking candidates up by id: at 200,000 leads, `j m` (1.3% of them) walked in 7.5 ms and
# looked up its 2,586 candidates in 45 (10 hits were asked for, and the sample had fewer).
SHORT_WORD = 2
SAMPLE = 1000
SAMPLE_HITS = 5
_CUSTOM_PLANS = func.set_config("plan_cache_mode", "force_custom_plan", true())


def filter_conditions(lead_filter: LeadFilter, workspace: Any, *, deleted: bool) -> list[Any]:
    """SQL conditions of one filter, but for the word search of live leads (``_search``).
    Live leads are tag-filtered through ``lead_tags``; deleted ones (the trash, a small set)
    by their own columns."""
    conditions: list[Any] = []
    if lead_filter.q and (deleted or not query_words(lead_filter.q)):
        conditions.append(leads.c.search_text.like(like_pattern(lead_filter.q), escape="\\"))
    if lead_filter.statuses:
        conditions.append(_one_of(leads.c.status, lead_filter.statuses))
    if lead_filter.tags and deleted:
        conditions.append(leads.c.tag_keys.contains(list(lead_filter.tags)))
    elif lead_filter.tags:
        conditions.extend(
            leads.c.id.in_(
                select(lead_tags.c.lead_id).where(
                    lead_tags.c.workspace_id == workspace, lead_tags.c.tag_key == key
                )
            )
            for key in lead_filter.tags
        )
    if lead_filter.owner_given:
        either = []
        if lead_filter.owners:
            either.append(_one_of(leads.c.owner_id, lead_filter.owners))
        if lead_filter.unassigned:
            either.append(leads.c.owner_id.is_(None))
        conditions.append(either[0] if len(either) == 1 else or_(*either))
    if lead_filter.sources:
        conditions.append(_one_of(leads.c.source, [s.value for s in lead_filter.sources]))
    if lead_filter.imports:
        conditions.append(_one_of(leads.c.import_id, lead_filter.imports))
    if lead_filter.score_min is not None:
        conditions.append(leads.c.score >= lead_filter.score_min)
    if lead_filter.score_max is not None:
        conditions.append(leads.c.score <= lead_filter.score_max)
    if lead_filter.created_after is not None:
        conditions.append(leads.c.created_at >= lead_filter.created_after)
    if lead_filter.created_before is not None:
        conditions.append(leads.c.created_at < lead_filter.created_before)
    return conditions


def _term_range(terms: Any, workspace: Any, word: str) -> list[Any]:
    return [terms.c.workspace_id == workspace, terms.c.term >= word, terms.c.term < word + TOP]


def _has_term(word: str, terms: Any = leads.c.search_terms) -> Any:
    """The lead has a term starting with ``word``: `` word`` is in its ``search_terms`` (terms
    joined by spaces) after a space. Checked on the lead's row, which the query reads anyway.
    ``strpos(…) > 0`` rather than ``LIKE``: the planner estimates a third of the leads match,
    which is what the words checked this way are like; ``LIKE`` it took for a rare match, and
    sorted every lead of a candidate set instead of walking the list (475 ms instead of 10)."""
    return func.strpos(literal(" ", Text) + terms, f" {word}") > 0


def tag_rows(workspace_id: UUID, many: Sequence[Lead]) -> dict[str, list[Any]]:
    """``lead_tags`` rows of the live ones among ``many``, as columns for ``unnest``."""
    rows: dict[str, list[Any]] = {"keys": [], "ids": [], "tags": []}
    for lead in many:
        if lead.is_deleted:
            continue
        for tag in lead.tags:
            rows["keys"].append(tag_key(tag))
            rows["ids"].append(lead.id)
            rows["tags"].append(tag)
    return {"workspace": workspace_id, **rows}


_INSERT_TAGS = text(
    "INSERT INTO lead_tags (workspace_id, tag_key, lead_id, tag) "
    "SELECT :workspace, k, l, t FROM unnest(CAST(:keys AS text[]), CAST(:ids AS uuid[]), "
    "CAST(:tags AS text[])) AS u (k, l, t) ON CONFLICT DO NOTHING"
)
# A lead's term rows, as its ``search_terms`` lists them: added from the rows just written;
# deleted before a lead is written, through the primary key, once the lead is locked
# (``_LOCK``), by a later statement: its snapshot sees the rows of a writer it waited for.
_INSERT_TERMS = text(
    "INSERT INTO lead_search_terms (workspace_id, term, lead_id) "
    "SELECT workspace_id, term, id FROM leads "
    "CROSS JOIN LATERAL unnest(string_to_array(search_terms, ' ')) AS term "
    "WHERE workspace_id = :workspace AND id = ANY(CAST(:ids AS uuid[])) ON CONFLICT DO NOTHING"
)
_DELETE_TAGS = text(
    "DELETE FROM lead_tags WHERE workspace_id = :workspace AND lead_id = ANY(CAST(:ids AS uuid[]))"
)
_LOCK = text(
    "SELECT id FROM leads WHERE workspace_id = :workspace AND id = ANY(CAST(:ids AS uuid[])) "
    "ORDER BY id FOR UPDATE"
)
_DELETE_TERMS = text(
    "DELETE FROM lead_search_terms AS t USING leads AS lead "
    "CROSS JOIN LATERAL unnest(string_to_array(lead.search_terms, ' ')) AS old (term) "
    "WHERE lead.workspace_id = :workspace AND lead.id = ANY(CAST(:ids AS uuid[])) "
    'AND t.workspace_id = :workspace AND t.term = old.term COLLATE "C" AND t.lead_id = lead.id'
)


def _one_of(column: Any, values: Sequence[Any]) -> Any:
    return column == values[0] if len(values) == 1 else column.in_(list(values))


class SqlLeadRepository:
    """``uow.leads``. ``workspace`` says which workspace the unit of work is scoped to (it can
    be scoped after the repository is made)."""

    def __init__(self, connection: AsyncConnection, workspace: Callable[[], UUID | None]):
        self._connection = connection
        self._workspace = workspace

    def _mine(self) -> Any:
        return leads.c.workspace_id == self._workspace()

    async def _selected(self, selection: Selection) -> list[Any]:
        conditions = [
            self._mine(),
            leads.c.deleted_at.is_not(None) if selection.deleted else leads.c.deleted_at.is_(None),
        ]
        if selection.until is not None:
            conditions.append(leads.c.id <= selection.until)
        for lead_filter in selection.filters:
            conditions.extend(
                filter_conditions(lead_filter, self._workspace(), deleted=selection.deleted)
            )
            if lead_filter.q and not selection.deleted and query_words(lead_filter.q):
                conditions.extend(await self._search(query_words(lead_filter.q)))
        return conditions

    async def _search(self, found: list[str]) -> list[Any]:
        """Conditions for live leads having, for every word, a term that starts with it.

        0. Words of one or two characters (all of them) are first tried on the newest
           ``SAMPLE`` leads: enough hits there, and the list is walked as in 2 (no counting).
        1. Each word's term matches are counted up to ``SEARCH_CAP`` (index-only range scans,
           one statement): a word under the cap is rare, else common.
        2. With no rare word, the list is walked in its sort order and each lead's own
           ``search_terms`` checked for every word until a page is full: a common word fills a
           page after a few thousand leads.
        3. Else the candidates are the intersection of the rare words' leads (hashed index-only
           scans). They are counted (unless one rare word's count or the smallest count says
           enough), and used in a form the planner cannot misjudge: up to
           ``SMALL_SET``, as an array looked up by primary key (``id = ANY(ARRAY(…))``: a few
           index lookups); more, as a hashed subplan checked while walking the list
           (``(id IN (…)) IS TRUE`` is not turned into a join); the common words are checked on
           each lead's row.
        Nothing of the candidates travels to Python. Plans are made for the values at hand
        (``plan_cache_mode``), as a generic plan cannot know how selective a word is.
        """
        workspace = self._workspace()
        if all(len(word) <= SHORT_WORD for word in found) and await self._sample_hits(found):
            return [_has_term(word) for word in found]
        capped = [
            select(func.count())
            .select_from(
                select(lead_search_terms.c.lead_id)
                .where(*_term_range(lead_search_terms, workspace, word))
                .limit(SEARCH_CAP)
                .subquery()
            )
            .scalar_subquery()
            for word in found
        ]
        # the plan mode is set in the same round trip; it applies to the statements after it
        *counts, _ = (await self._connection.execute(select(*capped, _CUSTOM_PLANS))).one()
        if min(counts) == 0:
            return [false()]
        ranked = sorted(zip(counts, found, strict=True))
        rare = [word for count, word in ranked if count < SEARCH_CAP]
        common = [word for count, word in ranked if count >= SEARCH_CAP]
        if not rare:
            return [_has_term(word) for word in common]
        parts = [
            select(lead_search_terms.c.lead_id).where(
                *_term_range(lead_search_terms, workspace, word)
            )
            for word in rare
        ]
        matched = (intersect(*parts) if len(parts) > 1 else parts[0]).subquery()
        size = ranked[0][0]  # exact for one rare word, else at least the intersection
        if len(rare) > 1 and size > SMALL_SET:
            size = await self._connection.scalar(select(func.count()).select_from(matched))
        if not size:
            return [false()]
        probes = [_has_term(word) for word in common]
        candidates = select(matched.c.lead_id)
        if size <= SMALL_SET:
            return [leads.c.id == any_(func.array(candidates.scalar_subquery())), *probes]
        return [leads.c.id.in_(candidates).is_(true()), *probes]

    async def _sample_hits(self, words: list[str]) -> bool:
        """Whether at least ``SAMPLE_HITS`` of the newest ``SAMPLE`` live leads have every word
        (then walking the list fills a page soon). Sets the plan mode, as the counts do."""
        newest = (
            select(leads.c.search_terms)
            .where(self._mine(), leads.c.deleted_at.is_(None))
            .order_by(leads.c.created_at.desc(), leads.c.id.desc())
            .limit(SAMPLE)
            .subquery()
        )
        hits = (
            select(func.count())
            .select_from(newest)
            .where(*(_has_term(word, newest.c.search_terms) for word in words))
            .scalar_subquery()
        )
        found, _ = (await self._connection.execute(select(hits, _CUSTOM_PLANS))).one()
        return int(found) >= SAMPLE_HITS

    async def get(self, lead_id: UUID, *, for_update: bool = False) -> Lead | None:
        query = select(*LEAD_COLUMNS).where(self._mine(), leads.c.id == lead_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._connection.execute(query)).first()
        return None if row is None else lead_from_row(row)

    async def known(self, keys: DedupKeys) -> list[KnownLead]:
        either = []
        if keys.email is not None:
            either.append(leads.c.email == keys.email)
        if keys.linkedin is not None:
            either.append(leads.c.linkedin_url == keys.linkedin)
        if keys.name is not None:
            either.append(leads.c.name_key == keys.name)
        if not either:
            return []
        query = select(leads.c.id, leads.c.email, leads.c.linkedin_url, leads.c.name_key).where(
            self._mine(), or_(*either)
        )
        return [
            KnownLead(
                lead_id=row.id,
                keys=DedupKeys(email=row.email, linkedin=row.linkedin_url, name=row.name_key),
            )
            for row in await self._connection.execute(query)
        ]

    async def add(self, lead: Lead) -> None:
        await self._write(insert(leads).values(**lead_values(lead)))
        await self._index([lead], tags=True, terms=True)

    async def save(self, lead: Lead) -> None:
        values = lead_values(lead)
        await self._unindex([lead], tags=True, terms=True)
        await self._write(
            update(leads)
            .where(self._mine(), leads.c.id == lead.id)
            .values({name: values[name] for name in _UPDATED})
        )
        await self._index([lead], tags=True, terms=True)

    async def save_many(
        self, many: Sequence[Lead], *, tags: bool = True, terms: bool = True
    ) -> None:
        if not many:
            return
        rows = []
        for lead in many:
            values = lead_values(lead)
            rows.append({"lead_id": lead.id, **{name: values[name] for name in _UPDATED}})
        await self._unindex(many, tags=tags, terms=terms)
        await self._write(_SAVE_MANY, rows)
        await self._index(many, tags=tags, terms=terms)

    async def _unindex(self, many: Sequence[Lead], *, tags: bool, terms: bool) -> None:
        """Delete the tag and search-term rows of ``many`` before they are written."""
        ids = {"workspace": self._workspace(), "ids": [lead.id for lead in many]}
        if tags:
            await self._connection.execute(_DELETE_TAGS, ids)
        if terms:
            await self._connection.execute(_LOCK, ids)
            await self._connection.execute(_DELETE_TERMS, ids)

    async def _index(self, many: Sequence[Lead], *, tags: bool, terms: bool) -> None:
        """Write the tag and search-term rows of ``many`` (none for deleted leads)."""
        workspace = self._workspace()
        assert workspace is not None
        if tags:
            rows = tag_rows(workspace, many)
            if rows["ids"]:
                await self._connection.execute(_INSERT_TAGS, rows)
        if terms:
            await self._connection.execute(
                _INSERT_TERMS, {"workspace": workspace, "ids": [lead.id for lead in many]}
            )

    async def _write(self, statement: Any, parameters: Any = None) -> None:
        # A violation aborts the transaction: the handler's error rolls it back.
        try:
            await self._connection.execute(statement, parameters)
        except IntegrityError as error:
            constraint = _constraint(error)
            if constraint in _KEY_CONSTRAINTS:
                raise LeadExists(None, _KEY_CONSTRAINTS[constraint]) from None
            if constraint == _STATUS_CONSTRAINT:
                message = "This pipeline stage was deleted meanwhile."
                raise UnknownStatus(
                    message, errors=[FieldError("status", "unknown_status", message)]
                ) from None
            raise

    async def lock_ids(self, ids: Sequence[UUID], *, deleted: bool) -> list[Lead]:
        if not ids:
            return []
        query = (
            select(*LEAD_COLUMNS)
            .where(*await self._selected(Selection(deleted=deleted)), leads.c.id.in_(list(ids)))
            .order_by(leads.c.id)
            .with_for_update()
        )
        return [lead_from_row(row) for row in await self._connection.execute(query)]

    async def _by_id(self, selection: Selection, after: UUID | None, limit: int) -> Any:
        query = select(*LEAD_COLUMNS).where(*await self._selected(selection))
        if after is not None:
            query = query.where(leads.c.id > after)
        return query.order_by(leads.c.id).limit(limit)

    async def lock_page(
        self, selection: Selection, *, after: UUID | None, limit: int
    ) -> list[Lead]:
        query = (await self._by_id(selection, after, limit)).with_for_update()
        return [lead_from_row(row) for row in await self._connection.execute(query)]

    async def export_page(
        self, selection: Selection, *, after: UUID | None, limit: int
    ) -> list[Lead]:
        query = await self._by_id(selection, after, limit)
        return [lead_from_row(row) for row in await self._connection.execute(query)]

    async def count(self, selection: Selection) -> int:
        conditions = await self._selected(selection)
        query = select(func.count()).select_from(leads).where(*conditions)
        return int(await self._connection.scalar(query) or 0)

    async def page(
        self,
        selection: Selection,
        *,
        sort: SortKey,
        order: Order,
        after: Position | None,
        limit: int,
    ) -> list[Lead]:
        column = SORT_COLUMNS[sort]
        query = select(*LEAD_COLUMNS).where(*await self._selected(selection))
        if after is not None:
            key = tuple_(column, leads.c.id)
            mark = tuple_(literal(after.value, column.type), literal(after.id, leads.c.id.type))
            query = query.where(key < mark if order is Order.DESC else key > mark)
        if order is Order.DESC:
            query = query.order_by(column.desc(), leads.c.id.desc())
        else:
            query = query.order_by(column.asc(), leads.c.id.asc())
        rows = await self._connection.execute(query.limit(limit))
        return [lead_from_row(row) for row in rows]

    async def tag_counts(self, limit: int) -> list[TagCount]:
        rows = await self._connection.execute(
            select(func.min(lead_tags.c.tag).label("tag"), func.count().label("n"))
            .where(lead_tags.c.workspace_id == self._workspace())
            .group_by(lead_tags.c.tag_key)
            .order_by(func.count().desc(), lead_tags.c.tag_key)
            .limit(limit)
        )
        return [TagCount(tag=row.tag, count=row.n) for row in rows]

    async def tag_in_use(self, key: str) -> bool:
        query = select(
            select(lead_tags.c.lead_id)
            .where(lead_tags.c.workspace_id == self._workspace(), lead_tags.c.tag_key == key)
            .exists()
        )
        return bool(await self._connection.scalar(query))

    async def stage_counts(self) -> dict[UUID, int]:
        query = (
            select(leads.c.status, func.count())
            .where(self._mine(), leads.c.deleted_at.is_(None))
            .group_by(leads.c.status)
        )
        return {row[0]: int(row[1]) for row in await self._connection.execute(query)}

    async def count_in_stage(self, stage_id: UUID) -> int:
        query = (
            select(func.count()).select_from(leads).where(self._mine(), leads.c.status == stage_id)
        )
        return int(await self._connection.scalar(query) or 0)

    async def move_stage(self, source: UUID, target: UUID, now: datetime) -> int:
        result = await self._connection.execute(
            update(leads)
            .where(self._mine(), leads.c.status == source)
            .values(status=target, updated_at=func.greatest(leads.c.updated_at, now))
        )
        return int(result.rowcount or 0)

    async def purge_deleted(self, deleted_before: datetime, limit: int) -> int:
        due = (
            select(leads.c.id)
            .where(
                self._mine(),
                leads.c.deleted_at.is_not(None),
                leads.c.deleted_at <= deleted_before,
            )
            .order_by(leads.c.deleted_at)
            .limit(limit)
        )
        result = await self._connection.execute(
            delete(leads).where(and_(self._mine(), leads.c.id.in_(due.scalar_subquery())))
        )
        return int(result.rowcount or 0)


def _constraint(error: IntegrityError) -> str | None:
    """The name of the constraint asyncpg reports as violated, if any."""
    for candidate in (error.orig, getattr(error.orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if name:
            return str(name)
    return None
