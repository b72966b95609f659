"""Scheduled leads work: deleted leads are purged 30 days after their deletion, uploaded import
files after ``SCALIYO_IMPORT_UPLOAD_RETENTION_HOURS``.

Workspaces with work due are found as ``scaliyo_system`` (a named platform path); each is then
worked through in batches, each batch in short tenant transactions as ``scaliyo_app`` (leads
through the ``PurgeDeletedLeads`` handler). One workspace's failure is logged and the others go
on. A tick that runs twice or late does no harm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.lead_import_repository import ACTIVE_IMPORT_STATUSES
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.application.bus import SYSTEM, Context
from scaliyo.application.leads.commands import PurgeDeletedLeads
from scaliyo.application.leads.segment_handlers import PurgeDeletedLeadsHandler
from scaliyo.application.leads.upload_deletion import release_upload_files
from scaliyo.application.shared.blobs import BlobStorage, InvalidBlobKey
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


# --- uploads ---------------------------------------------------------------------------------
# An upload is due once it is older than the retention, not yet expired, and no import of it is
# queued or running. It is deleted in the three steps of ``application/leads/upload_deletion``:
# marked expired here (holding the rows), its file deleted, then released (its row deleted or
# marked, its bytes given back). A run stopped between the steps (or a delete that failed)
# leaves expired uploads whose file is not yet deleted; the next run finishes them.

UPLOAD_BATCH = 100

_DUE_UPLOADS = text(
    "SELECT DISTINCT u.workspace_id FROM lead_uploads u "
    "WHERE u.purged_at IS NULL AND u.created_at <= :cutoff "
    "AND NOT EXISTS (SELECT 1 FROM lead_imports i "
    f"WHERE i.upload_id = u.id AND i.status IN {ACTIVE_IMPORT_STATUSES}) "
    "UNION "
    "SELECT u.workspace_id FROM lead_uploads u "
    "WHERE u.purged_at IS NOT NULL AND u.file_deleted_at IS NULL "
    "LIMIT :limit"
)
# As scaliyo_app: only leakproof conditions (uuid and timestamptz comparisons, IS NULL), so the
# partial index ix_lead_uploads_workspace_id_created_at serves it under row-level security.
# FOR UPDATE waits for an import being started on one of them (StartImport holds the row until
# it commits); the next statement, with a new snapshot, sees that import and leaves its upload.
_LOCK_DUE = text(
    "SELECT u.id FROM lead_uploads u "
    "WHERE u.workspace_id = :ws AND u.purged_at IS NULL AND u.created_at <= :cutoff "
    "AND NOT EXISTS (SELECT 1 FROM lead_imports i WHERE i.workspace_id = :ws "
    f"AND i.upload_id = u.id AND i.status IN {ACTIVE_IMPORT_STATUSES}) "
    "ORDER BY u.created_at, u.id LIMIT :batch FOR UPDATE OF u"
)
_EXPIRE = text(
    "UPDATE lead_uploads u SET purged_at = :now "
    "WHERE u.workspace_id = :ws AND u.id = ANY(:ids) AND u.purged_at IS NULL "
    "AND NOT EXISTS (SELECT 1 FROM lead_imports i WHERE i.workspace_id = :ws "
    f"AND i.upload_id = u.id AND i.status IN {ACTIVE_IMPORT_STATUSES})"
)
# Served by ix_lead_uploads_workspace_id_purged_at.
_FILES_TO_DELETE = text(
    "SELECT u.id, u.blob_key FROM lead_uploads u "
    "WHERE u.workspace_id = :ws AND u.purged_at IS NOT NULL AND u.file_deleted_at IS NULL "
    "ORDER BY u.purged_at, u.id LIMIT :batch"
)


@dataclass(slots=True)
class UploadPurge:
    """What a purge did: uploads deleted entirely, uploads whose file alone was deleted."""

    deleted: int = 0
    purged: int = 0


async def purge_expired_uploads(
    database: Database,
    blobs: BlobStorage,
    clock: Clock,
    *,
    retention: timedelta,
    batch: int = UPLOAD_BATCH,
) -> UploadPurge:
    """Delete the file of every upload older than ``retention`` that no import is waiting on or
    running from; delete the uploads never imported entirely."""
    cutoff = clock.now() - retention
    async with database.system.connect() as connection:
        rows = (
            await connection.execute(_DUE_UPLOADS, {"cutoff": cutoff, "limit": WORKSPACES_PER_TICK})
        ).all()
    done = UploadPurge()
    for row in rows:
        workspace = WorkspaceId(row.workspace_id)
        try:
            await _purge_workspace_uploads(database, blobs, clock, workspace, cutoff, batch, done)
        except Exception:
            log.exception("upload purge failed", extra={"workspace_id": str(workspace)})
    if done.deleted or done.purged:
        log.info("expired uploads purged", extra={"deleted": done.deleted, "purged": done.purged})
    return done


async def _purge_workspace_uploads(
    database: Database,
    blobs: BlobStorage,
    clock: Clock,
    workspace: WorkspaceId,
    cutoff: datetime,
    batch: int,
    done: UploadPurge,
) -> None:
    expiring = True
    while True:
        async with SqlUnitOfWork(database.app, workspace) as uow:
            if expiring:  # step 1
                params = {"ws": workspace, "cutoff": cutoff, "batch": batch}
                ids = list((await uow.connection.execute(_LOCK_DUE, params)).scalars())
                if ids:
                    await uow.connection.execute(
                        _EXPIRE, {"ws": workspace, "ids": ids, "now": clock.now()}
                    )
                expiring = len(ids) == batch
            due = (
                await uow.connection.execute(_FILES_TO_DELETE, {"ws": workspace, "batch": batch})
            ).all()
            await uow.commit()
        if not due:
            return
        for upload in due:  # step 2, outside any transaction
            try:
                await blobs.delete(workspace, upload.blob_key)
            except InvalidBlobKey:  # no blob of this workspace can have that key
                log.warning(
                    "upload with a foreign blob key",
                    extra={"workspace_id": str(workspace), "upload_id": str(upload.id)},
                )
        ids = [upload.id for upload in due]
        async with SqlUnitOfWork(database.app, workspace) as uow:  # step 3
            released = await release_upload_files(uow, ids, clock.now())
            await uow.commit()
        done.deleted += released.deleted
        done.purged += released.kept
        if len(due) < batch and not expiring:
            return
