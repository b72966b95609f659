"""Leads on PostgreSQL: rows mapped to ``Lead`` explicitly, filters to SQL, keyset pages.

Every statement names the workspace explicitly as well (row-level security would filter
anyway), so the planner knows which workspace a query is about and picks the indexes that
start with ``workspace_id``. Derived columns (``name_key``, ``sort_name``, ``search_text``,
``tag_keys``) are written from the domain's folding by ``lead_values``: bulk paths (imports,
the benchmark) write rows with it too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Row,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.tables import leads
from scaliyo.application.leads.derived import search_text, sort_name
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
_UPDATED = [c.name for c in leads.columns if c.name not in {"id", "workspace_id", "created_at"}]
_SAVE_MANY = (
    update(leads)
    .where(leads.c.id == bindparam("lead_id"))
    .values({name: bindparam(name) for name in _UPDATED})
)


def lead_values(lead: Lead) -> dict[str, Any]:
    """Every column of a lead's row, derived ones included."""
    profile = lead.profile
    return {
        "id": lead.id,
        "workspace_id": lead.workspace_id,
        **{name: getattr(profile, name) for name in PROFILE_COLUMNS},
        "company_size": None if profile.company_size is None else profile.company_size.value,
        "seniority": None if profile.seniority is None else profile.seniority.value,
        "department": None if profile.department is None else profile.department.value,
        "custom_fields": dict(profile.custom_fields),
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
        "search_text": search_text(profile),
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
    )


def like_pattern(folded: str) -> str:
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filter_conditions(lead_filter: LeadFilter) -> list[Any]:
    conditions: list[Any] = []
    if lead_filter.q:
        conditions.append(leads.c.search_text.like(like_pattern(lead_filter.q), escape="\\"))
    if lead_filter.statuses:
        conditions.append(_one_of(leads.c.status, lead_filter.statuses))
    if lead_filter.tags:
        conditions.append(leads.c.tag_keys.contains(list(lead_filter.tags)))
    if lead_filter.owner_given:
        either = []
        if lead_filter.owners:
            either.append(_one_of(leads.c.owner_id, lead_filter.owners))
        if lead_filter.unassigned:
            either.append(leads.c.owner_id.is_(None))
        conditions.append(either[0] if len(either) == 1 else or_(*either))
    if lead_filter.sources:
        conditions.append(_one_of(leads.c.source, [s.value for s in lead_filter.sources]))
    if lead_filter.score_min is not None:
        conditions.append(leads.c.score >= lead_filter.score_min)
    if lead_filter.score_max is not None:
        conditions.append(leads.c.score <= lead_filter.score_max)
    if lead_filter.created_after is not None:
        conditions.append(leads.c.created_at >= lead_filter.created_after)
    if lead_filter.created_before is not None:
        conditions.append(leads.c.created_at < lead_filter.created_before)
    return conditions


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

    def _selected(self, selection: Selection) -> list[Any]:
        conditions = [
            self._mine(),
            leads.c.deleted_at.is_not(None) if selection.deleted else leads.c.deleted_at.is_(None),
        ]
        if selection.until is not None:
            conditions.append(leads.c.id <= selection.until)
        for lead_filter in selection.filters:
            conditions.extend(filter_conditions(lead_filter))
        return conditions

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

    async def save(self, lead: Lead) -> None:
        values = lead_values(lead)
        await self._write(
            update(leads)
            .where(self._mine(), leads.c.id == lead.id)
            .values({name: values[name] for name in _UPDATED})
        )

    async def save_many(self, many: Sequence[Lead]) -> None:
        if not many:
            return
        rows = []
        for lead in many:
            values = lead_values(lead)
            rows.append({"lead_id": lead.id, **{name: values[name] for name in _UPDATED}})
        await self._write(_SAVE_MANY, rows)

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
            .where(*self._selected(Selection(deleted=deleted)), leads.c.id.in_(list(ids)))
            .order_by(leads.c.id)
            .with_for_update()
        )
        return [lead_from_row(row) for row in await self._connection.execute(query)]

    def _by_id(self, selection: Selection, after: UUID | None, limit: int) -> Any:
        query = select(*LEAD_COLUMNS).where(*self._selected(selection))
        if after is not None:
            query = query.where(leads.c.id > after)
        return query.order_by(leads.c.id).limit(limit)

    async def lock_page(
        self, selection: Selection, *, after: UUID | None, limit: int
    ) -> list[Lead]:
        query = self._by_id(selection, after, limit).with_for_update()
        return [lead_from_row(row) for row in await self._connection.execute(query)]

    async def export_page(
        self, selection: Selection, *, after: UUID | None, limit: int
    ) -> list[Lead]:
        query = self._by_id(selection, after, limit)
        return [lead_from_row(row) for row in await self._connection.execute(query)]

    async def count(self, selection: Selection) -> int:
        query = select(func.count()).select_from(leads).where(*self._selected(selection))
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
        query = select(*LEAD_COLUMNS).where(*self._selected(selection))
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
            text(
                """
                SELECT min(t.tag) AS tag, count(*) AS n
                FROM leads l CROSS JOIN LATERAL unnest(l.tags, l.tag_keys) AS t (tag, key)
                WHERE l.workspace_id = :workspace AND l.deleted_at IS NULL
                GROUP BY t.key
                ORDER BY n DESC, t.key
                LIMIT :limit
                """
            ),
            {"workspace": self._workspace(), "limit": limit},
        )
        return [TagCount(tag=row.tag, count=row.n) for row in rows]

    async def tag_in_use(self, key: str) -> bool:
        query = select(
            select(leads.c.id)
            .where(self._mine(), leads.c.deleted_at.is_(None), leads.c.tag_keys.contains([key]))
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
