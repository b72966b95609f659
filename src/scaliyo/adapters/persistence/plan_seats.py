"""The seats a workspace's plan allows (the plan's seats plus any purchased extra seats).

Invites and accepts count members and pending invites under the workspace row lock and compare
with this number, so concurrent invites cannot pass it together.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.persistence.unit_of_work import set_tenant
from scaliyo.domain.identity.seats import plan_seats
from scaliyo.domain.shared.ids import WorkspaceId

_ALLOWED = text(
    "SELECT p.seats + s.extra_seats FROM subscriptions s JOIN plans p ON p.code = s.plan_code"
    " WHERE s.workspace_id = :workspace_id"
)


class PlanSeats:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def allowed(self, workspace_id: WorkspaceId) -> int:
        async with self._engine.connect() as connection:
            await set_tenant(connection, workspace_id)
            seats = (await connection.execute(_ALLOWED, {"workspace_id": workspace_id})).scalar()
            await connection.rollback()
        # A workspace without a subscription (none should exist) gets Starter's seats.
        return plan_seats() if seats is None else int(seats)
