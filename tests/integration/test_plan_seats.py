"""Invites count against the seats of the workspace's plan."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text

from scaliyo.adapters.persistence.plan_seats import PlanSeats
from scaliyo.application.bus import OPERATOR, Bus, Context
from scaliyo.application.identity.commands import CreateWorkspace
from scaliyo.entrypoints.container import build_container


async def test_a_trial_has_starters_seat_and_a_growth_plan_three(settings, database, owner_engine):
    container = build_container(settings=settings)
    try:
        bus = await container.get(Bus)
        view = await bus.execute(
            CreateWorkspace(name="Seats"), Context(request_id="t", actor=OPERATOR)
        )
    finally:
        await container.close()
    workspace_id = UUID(view.id)
    seats = PlanSeats(database.app)
    assert await seats.allowed(workspace_id) == 1
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("UPDATE subscriptions SET plan_code = 'growth' WHERE workspace_id = :ws"),
            {"ws": workspace_id},
        )
    assert await seats.allowed(workspace_id) == 3
