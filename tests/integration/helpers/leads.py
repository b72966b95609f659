"""Leads set-up for integration tests: a workspace made through the bus (its trial and its
pipeline, as real ones get them), an owner's API key, and a bus with small bulk limits."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.clock import SystemClock
from scaliyo.adapters.ids import UuidV7Factory
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import unit_of_work_factory
from scaliyo.application.bus import Bus, default_middleware
from scaliyo.application.leads.handlers import lead_handlers
from scaliyo.application.registry import build_handlers
from scaliyo.domain.shared.ids import WorkspaceId
from tests.factories import owner_api_key
from tests.integration.helpers.billing import billing_bus, new_workspace


async def leads_workspace(
    database: Database, owner_engine: AsyncEngine, name: str = "Leads Co"
) -> tuple[WorkspaceId, dict[str, str], UUID]:
    """A new workspace in its trial with the default pipeline, and an owner's API key headers
    (and the owner's user id)."""
    workspace = await new_workspace(billing_bus(database), name)
    key = await owner_api_key(owner_engine, workspace)
    return workspace, key.headers(), key.user_id


def leads_bus(database: Database, *, bulk_inline_max: int) -> Bus:
    handlers = dict(build_handlers(clock=SystemClock(), ids=UuidV7Factory()))
    handlers.update(
        lead_handlers(clock=SystemClock(), ids=UuidV7Factory(), bulk_inline_max=bulk_inline_max)
    )
    return Bus(handlers, unit_of_work_factory(database.app), default_middleware())


async def count_rows(engine: AsyncEngine, sql: str, **params) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar() or 0)


async def message_types(engine: AsyncEngine, aggregate_id: object) -> list[str]:
    """The outbox messages of one aggregate, in order."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT message_type FROM outbox WHERE aggregate_id = :id ORDER BY seq"),
            {"id": aggregate_id},
        )
        return list(rows.scalars())
