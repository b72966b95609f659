"""Billing set-up for integration tests: workspaces made through the bus (so they start their
trial as real ones do), accounts funded to an exact balance, and counts read as the superuser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.clock import SystemClock
from scaliyo.adapters.ids import UuidV7Factory
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork, unit_of_work_factory
from scaliyo.application.billing.commands import SetPlan
from scaliyo.application.bus import OPERATOR, Bus, Context, default_middleware
from scaliyo.application.identity.commands import CreateWorkspace
from scaliyo.application.registry import build_handlers
from scaliyo.application.shared.ports import Clock
from scaliyo.domain.shared.ids import WorkspaceId


class MovableClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.moment = now or datetime.now(UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


def billing_bus(database: Database, clock: Clock | None = None) -> Bus:
    return Bus(
        build_handlers(clock=clock or SystemClock(), ids=UuidV7Factory()),
        unit_of_work_factory(database.app),
        default_middleware(),
    )


async def new_workspace(bus: Bus, name: str = "Billing Co") -> WorkspaceId:
    view = await bus.execute(CreateWorkspace(name=name), Context(request_id="t", actor=OPERATOR))
    return WorkspaceId(UUID(view.id))


async def set_plan(bus: Bus, workspace_id: WorkspaceId, plan: str) -> None:
    context = Context(request_id="t", actor=OPERATOR, workspace_id=workspace_id)
    await bus.execute(SetPlan(plan=plan), context)


async def fund(database: Database, workspace_id: WorkspaceId, credits: int) -> None:
    """Leave the workspace exactly ``credits`` available: a new credit period granting them
    (the trial's allowance expires; nothing is held)."""
    start = datetime.now(UTC) + timedelta(seconds=1)
    async with SqlUnitOfWork(database.app, workspace_id) as uow:
        await uow.credit_ledger.start_period(start=start, end=None, grant=credits, now=start)
        await uow.commit()


async def scalar(engine: AsyncEngine, sql: str, **params) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()
