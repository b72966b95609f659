"""Deleting an uploaded file, by its user (``DELETE /leads/uploads/{id}``) or after the retention
(``lead-uploads-purge``), in three steps so that no import can start from a file being deleted:

1. in a transaction holding the upload, it is marked expired (``purged_at``): importing it is
   410 ``upload_expired`` from then on;
2. its file is deleted from blob storage, outside any transaction (``delete_upload_now``, or
   the purge);
3. in a transaction (``release_upload_files``): an upload never imported is deleted with its
   row, one with imports keeps its row (their history and reports hang on it) and gets
   ``file_deleted_at``; either way its bytes stop counting against the plan's storage.

A deletion stopped between the steps leaves an expired upload whose file is not yet deleted;
the purge's next run finishes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from scaliyo.application.bus import Bus, Context
from scaliyo.application.identity.actors import require_permission
from scaliyo.application.leads.errors import UploadInUse, UploadNotFound
from scaliyo.application.leads.import_commands import ExpiredUpload, ExpireUpload, ReleaseUploadFile
from scaliyo.application.leads.import_ports import FileRelease
from scaliyo.application.leads.ports import LeadsUnitOfWork
from scaliyo.application.shared.blobs import BlobStorage
from scaliyo.application.shared.ports import Clock
from scaliyo.domain.identity.roles import Permission
from scaliyo.domain.usage.counters import Metric


async def delete_upload_now(bus: Bus, context: Context, blobs: BlobStorage, upload_id: str) -> None:
    """The three steps for one upload, as its user asks (the API's ``DELETE``; the CLI, for a
    file whose import it refused). Storage that cannot be reached leaves the upload expired for
    the purge to finish."""
    assert context.workspace_id is not None
    expired: ExpiredUpload = await bus.execute(ExpireUpload(upload_id=upload_id), context)
    if expired.blob_key is not None:
        await blobs.delete(context.workspace_id, expired.blob_key)
    await bus.execute(ReleaseUploadFile(upload_id=upload_id), context)


async def release_upload_files(
    uow: LeadsUnitOfWork, upload_ids: Sequence[UUID], now: datetime
) -> FileRelease:
    """Step 3 for expired uploads whose file is deleted: each is released once, and the bytes
    of those released stop counting against the plan's storage."""
    released = await uow.lead_imports.release_files(upload_ids, now)
    if released.freed_bytes:
        await uow.limits.give_back(Metric.STORAGE_BYTES, released.freed_bytes, at=now)
    return released


def _upload_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise UploadNotFound() from None


class ExpireUploadHandler:
    """Step 1 of ``DELETE /leads/uploads/{id}``.

    Rules:
    - members and above (``leads.write``); another workspace's upload, or an id that is not
      one, is 404 ``upload_not_found``;
    - an upload an import is queued or running from is 409 ``upload_in_use`` (the upload is
      locked, as ``StartImport`` locks it: a deletion and a new import take turns);
    - deleting an upload already expired is allowed (it finishes a deletion that stopped).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self, message: ExpireUpload, uow: LeadsUnitOfWork, context: Context
    ) -> ExpiredUpload:
        require_permission(context, Permission.LEADS_WRITE)
        upload_id = _upload_id(message.upload_id)
        upload = await uow.lead_imports.get_upload(upload_id, for_update=True)
        if upload is None:
            raise UploadNotFound()
        if await uow.lead_imports.has_active_import(upload_id):
            raise UploadInUse(
                "An import of this upload is queued or running; delete it once the import ends."
            )
        await uow.lead_imports.expire_upload(upload_id, self._clock.now())
        await uow.commit()
        return ExpiredUpload(blob_key=None if upload.file_deleted_at else upload.blob_key)


class ReleaseUploadFileHandler:
    """Step 3 of ``DELETE /leads/uploads/{id}``, once its file is deleted. Members and above;
    an upload not expired is left as it is, one released already is not released twice."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self, message: ReleaseUploadFile, uow: LeadsUnitOfWork, context: Context
    ) -> None:
        require_permission(context, Permission.LEADS_WRITE)
        await release_upload_files(uow, [_upload_id(message.upload_id)], self._clock.now())
        await uow.commit()
