"""The account audit: entries of account events (sign-in and its failures, sign-out, session
revocation, password resets), written at once, each in a transaction of its own.

A platform path (``scaliyo_system``): these events often belong to no workspace (a failed
sign-in of an unknown address), and ``audit_log``'s row-level security admits no row without a
tenant; and a refused sign-in must leave its entry although its unit of work rolls back.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.persistence.audit_repository import SqlAuditTrail
from scaliyo.application.shared.audit import AuditEntry


class SqlAccountAudit:
    def __init__(self, system_engine: AsyncEngine) -> None:
        self._engine = system_engine

    async def record(self, entry: AuditEntry) -> None:
        async with self._engine.begin() as connection:
            await SqlAuditTrail(connection).record(entry)
