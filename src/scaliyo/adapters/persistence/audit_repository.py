from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.persistence.tables import audit_log
from scaliyo.application.shared.audit import AuditEntry


class SqlAuditTrail:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def record(self, entry: AuditEntry) -> None:
        await self._connection.execute(
            insert(audit_log).values(
                id=new_id(),
                workspace_id=entry.workspace_id,
                actor=entry.actor,
                action=entry.action,
                target=entry.target,
                ip=entry.ip,
                details=entry.details,
            )
        )
