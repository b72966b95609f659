"""The ``{Message: handler}`` entries of the leads context (see ``application/registry.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scaliyo.application.bus import Handler, Message
from scaliyo.application.leads.bulk import INLINE_MAX, BulkLeadsHandler
from scaliyo.application.leads.commands import (
    AddStage,
    BulkLeads,
    CreateLead,
    CreateSegment,
    DeleteLead,
    DeleteSegment,
    DeleteStage,
    ExportLeads,
    GetCustomFields,
    GetIcp,
    GetLead,
    GetSegment,
    ListLeads,
    ListSegments,
    ListStages,
    ListTags,
    PurgeDeletedLeads,
    PutCustomFields,
    PutIcp,
    RestoreLead,
    UpdateLead,
    UpdateSegment,
    UpdateStage,
)
from scaliyo.application.leads.import_commands import (
    CancelImport,
    CheckUploadRoom,
    ExpireUpload,
    GetImport,
    GetImportFile,
    ListImportProblems,
    ListImports,
    RegisterUpload,
    ReleaseUploadFile,
    StartImport,
)
from scaliyo.application.leads.import_handlers import (
    DEFAULT_CHUNK_ROWS,
    CancelImportHandler,
    CheckUploadRoomHandler,
    GetImportFileHandler,
    GetImportHandler,
    ListImportProblemsHandler,
    ListImportsHandler,
    RegisterUploadHandler,
    StartImportHandler,
)
from scaliyo.application.leads.lead_handlers import (
    CreateLeadHandler,
    DeleteLeadHandler,
    GetLeadHandler,
    RestoreLeadHandler,
    UpdateLeadHandler,
)
from scaliyo.application.leads.query_handlers import (
    ExportLeadsHandler,
    ListLeadsHandler,
    ListTagsHandler,
)
from scaliyo.application.leads.segment_handlers import (
    CreateSegmentHandler,
    DeleteSegmentHandler,
    GetSegmentHandler,
    ListSegmentsHandler,
    PurgeDeletedLeadsHandler,
    UpdateSegmentHandler,
)
from scaliyo.application.leads.settings_handlers import (
    AddStageHandler,
    DeleteStageHandler,
    GetCustomFieldsHandler,
    GetIcpHandler,
    ListStagesHandler,
    PutCustomFieldsHandler,
    PutIcpHandler,
    UpdateStageHandler,
)
from scaliyo.application.leads.upload_deletion import (
    ExpireUploadHandler,
    ReleaseUploadFileHandler,
)
from scaliyo.application.shared.ports import Clock, IdFactory


def lead_handlers(
    *,
    clock: Clock,
    ids: IdFactory,
    bulk_inline_max: int = INLINE_MAX,
    import_chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Mapping[type[Message], Handler]:
    """Every handler of the leads context. ``bulk_inline_max``: how many leads a bulk action
    changes in the request before it becomes a job (tests make it small);
    ``import_chunk_rows``: the rows of an import chunk (one transaction)."""
    handlers: dict[type[Message], Any] = {
        CreateLead: CreateLeadHandler(clock, ids),
        GetLead: GetLeadHandler(ids),
        UpdateLead: UpdateLeadHandler(clock, ids),
        DeleteLead: DeleteLeadHandler(clock),
        RestoreLead: RestoreLeadHandler(clock, ids),
        ListLeads: ListLeadsHandler(ids),
        ExportLeads: ExportLeadsHandler(ids),
        ListTags: ListTagsHandler(),
        BulkLeads: BulkLeadsHandler(clock, ids, inline_max=bulk_inline_max),
        ListStages: ListStagesHandler(ids),
        AddStage: AddStageHandler(ids),
        UpdateStage: UpdateStageHandler(ids),
        DeleteStage: DeleteStageHandler(clock, ids),
        GetIcp: GetIcpHandler(),
        PutIcp: PutIcpHandler(clock, ids),
        GetCustomFields: GetCustomFieldsHandler(),
        PutCustomFields: PutCustomFieldsHandler(),
        CreateSegment: CreateSegmentHandler(clock, ids),
        GetSegment: GetSegmentHandler(),
        ListSegments: ListSegmentsHandler(),
        UpdateSegment: UpdateSegmentHandler(clock, ids),
        DeleteSegment: DeleteSegmentHandler(),
        PurgeDeletedLeads: PurgeDeletedLeadsHandler(clock),
        RegisterUpload: RegisterUploadHandler(clock),
        CheckUploadRoom: CheckUploadRoomHandler(clock),
        StartImport: StartImportHandler(clock, ids, chunk_rows=import_chunk_rows),
        ExpireUpload: ExpireUploadHandler(clock),
        ReleaseUploadFile: ReleaseUploadFileHandler(clock),
        GetImport: GetImportHandler(),
        GetImportFile: GetImportFileHandler(),
        CancelImport: CancelImportHandler(clock),
        ListImportProblems: ListImportProblemsHandler(),
        ListImports: ListImportsHandler(),
    }
    return handlers
