"""Scheduled leads work: deleted leads are purged 30 days after their deletion.

Workspaces with leads due are found as ``scaliyo_system`` (a named platform path); each is then
purged in batches, each batch its own short tenant transaction as ``scaliyo_app``, through the
``PurgeDeletedLeads`` handler. A tick that runs twice or late does no harm.
"""

from __future__ import annotations

import logging

from sqlalchemy import text

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.application.bus import SYSTEM, Context
from scaliyo.application.leads.commands import PurgeDeletedLeads
from scaliyo.application.leads.segment_handlers import PurgeDeletedLeadsHandler
from scaliyo.application.shared.ports import Clock
from scaliyo.domain.leads.lead import PURGE_AFTER
from scaliyo.domain.shared.ids import WorkspaceId

log = logging.getLogger("scaliyo.leads.schedules")

WORKSPACES_PER_TICK = 500
BATCH = 5000

_DUE = text(
    "SELECT DISTINCT workspace_id FROM leads "
    "WHERE deleted_at IS NOT NULL AND deleted_at <= :cutoff LIMIT :limit"
)


async def purge_deleted_leads(database: Database, clock: Clock, *, batch: int = BATCH) -> int:
    """Delete for good every lead soft-deleted 30 days ago or more; how many."""
    async with database.system.connect() as connection:
        rows = (
            await connection.execute(
                _DUE, {"cutoff": clock.now() - PURGE_AFTER, "limit": WORKSPACES_PER_TICK}
            )
        ).all()
    handler = PurgeDeletedLeadsHandler(clock)
    purged = 0
    for row in rows:
        workspace = WorkspaceId(row.workspace_id)
        context = Context(request_id=f"schedule-{new_id()}", actor=SYSTEM, workspace_id=workspace)
        try:
            while True:
                async with SqlUnitOfWork(database.app, workspace) as uow:
                    done = await handler(PurgeDeletedLeads(batch=batch), uow, context)
                purged += done
                if done < batch:
                    break
        except Exception:
            log.exception("lead purge failed", extra={"workspace_id": str(workspace)})
    if purged:
        log.info("deleted leads purged", extra={"count": purged})
    return purged
