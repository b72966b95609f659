"""Routing a payment provider's webhook to its workspace: a platform path.

The webhook knows a customer id, not a workspace, so the look-up runs as ``scaliyo_system``
(which bypasses row-level security) before any tenant is known; it reads one column of
``payment_accounts`` and nothing else. The event's effect then runs as ``scaliyo_app`` in a
transaction scoped to the workspace found here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.persistence.tables import payment_accounts
from scaliyo.domain.shared.ids import WorkspaceId


class SqlPaymentRouting:
    def __init__(self, system_engine: AsyncEngine) -> None:
        self._engine = system_engine

    async def workspace_for_customer(self, provider: str, customer_id: str) -> WorkspaceId | None:
        async with self._engine.connect() as connection:
            found = await connection.scalar(
                select(payment_accounts.c.workspace_id).where(
                    payment_accounts.c.provider == provider,
                    payment_accounts.c.customer_id == customer_id,
                )
            )
        return None if found is None else WorkspaceId(found)
