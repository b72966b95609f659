"""A workspace's lead settings on PostgreSQL: pipeline stages, the ideal customer profile and
custom field definitions (``uow.pipeline``, ``uow.icp``, ``uow.custom_fields``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.persistence.tables import lead_custom_fields, lead_icps, pipeline_stages
from scaliyo.domain.leads.attributes import CompanySize, Department, Seniority
from scaliyo.domain.leads.custom_fields import (
    CustomFieldDefinition,
    CustomFieldSet,
    CustomFieldType,
)
from scaliyo.domain.leads.icp import IdealCustomerProfile
from scaliyo.domain.leads.pipeline import Pipeline, Stage

# One lock per workspace's pipeline (transaction-scoped): edits, and the first pipeline of a
# workspace, are made one at a time.
_PIPELINE_LOCK = text(
    "SELECT pg_advisory_xact_lock(hashtextextended('scaliyo.pipeline:' || :workspace, 0))"
)


class SqlPipelineRepository:
    def __init__(self, connection: AsyncConnection, workspace: Callable[[], UUID | None]):
        self._connection = connection
        self._workspace = workspace

    async def get(self) -> Pipeline | None:
        rows = (
            await self._connection.execute(
                select(pipeline_stages.c.id, pipeline_stages.c.name, pipeline_stages.c.color)
                .where(pipeline_stages.c.workspace_id == self._workspace())
                .order_by(pipeline_stages.c.position, pipeline_stages.c.id)
            )
        ).all()
        if not rows:
            return None
        return Pipeline(
            stages=tuple(Stage(id=row.id, name=row.name, color=row.color) for row in rows)
        )

    async def lock(self) -> Pipeline | None:
        await self._connection.execute(_PIPELINE_LOCK, {"workspace": str(self._workspace())})
        return await self.get()

    async def create(self, pipeline: Pipeline) -> Pipeline:
        existing = await self.lock()
        if existing is not None:
            return existing
        await self._upsert(pipeline)
        return pipeline

    async def save(self, pipeline: Pipeline) -> None:
        await self._connection.execute(
            delete(pipeline_stages).where(
                pipeline_stages.c.workspace_id == self._workspace(),
                pipeline_stages.c.id.not_in(list(pipeline.ids)),
            )
        )
        await self._upsert(pipeline)

    async def _upsert(self, pipeline: Pipeline) -> None:
        statement = insert(pipeline_stages).values(
            [
                {
                    "workspace_id": self._workspace(),
                    "id": stage.id,
                    "name": stage.name,
                    "name_key": stage.name.casefold(),
                    "color": stage.color,
                    "position": position,
                }
                for position, stage in enumerate(pipeline.stages)
            ]
        )
        await self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=[pipeline_stages.c.workspace_id, pipeline_stages.c.id],
                set_={
                    "name": statement.excluded.name,
                    "name_key": statement.excluded.name_key,
                    "color": statement.excluded.color,
                    "position": statement.excluded.position,
                },
            )
        )


_ICP_LISTS = ("seniorities", "titles", "departments", "industries", "company_sizes", "countries")


class SqlIcpRepository:
    def __init__(self, connection: AsyncConnection, workspace: Callable[[], UUID | None]):
        self._connection = connection
        self._workspace = workspace

    async def get(self) -> IdealCustomerProfile | None:
        row = (
            await self._connection.execute(
                select(lead_icps).where(lead_icps.c.workspace_id == self._workspace())
            )
        ).first()
        if row is None:
            return None
        return IdealCustomerProfile(
            seniorities=tuple(Seniority(value) for value in row.seniorities),
            titles=tuple(row.titles),
            departments=tuple(Department(value) for value in row.departments),
            industries=tuple(row.industries),
            company_sizes=tuple(CompanySize(value) for value in row.company_sizes),
            countries=tuple(row.countries),
        )

    async def save(self, icp: IdealCustomerProfile, now: datetime) -> None:
        values = {
            name: [getattr(value, "value", value) for value in getattr(icp, name)]
            for name in _ICP_LISTS
        }
        statement = insert(lead_icps).values(
            workspace_id=self._workspace(), updated_at=now, **values
        )
        await self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=[lead_icps.c.workspace_id],
                set_={**values, "updated_at": now},
            )
        )


class SqlCustomFieldRepository:
    def __init__(self, connection: AsyncConnection, workspace: Callable[[], UUID | None]):
        self._connection = connection
        self._workspace = workspace

    async def get(self) -> CustomFieldSet:
        rows = await self._connection.execute(
            select(lead_custom_fields)
            .where(lead_custom_fields.c.workspace_id == self._workspace())
            .order_by(lead_custom_fields.c.position)
        )
        return CustomFieldSet(
            fields=tuple(
                CustomFieldDefinition(
                    key=row.key,
                    label=row.label,
                    type=CustomFieldType(row.type),
                    options=tuple(row.options),
                )
                for row in rows
            )
        )

    async def replace(self, fields: CustomFieldSet) -> None:
        await self._connection.execute(
            delete(lead_custom_fields).where(lead_custom_fields.c.workspace_id == self._workspace())
        )
        if fields.fields:
            await self._connection.execute(
                insert(lead_custom_fields),
                [
                    {
                        "workspace_id": self._workspace(),
                        "key": field.key,
                        "label": field.label,
                        "type": field.type.value,
                        "options": list(field.options),
                        "position": position,
                    }
                    for position, field in enumerate(fields.fields)
                ],
            )
