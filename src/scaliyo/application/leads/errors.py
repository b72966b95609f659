"""Errors of the leads use cases that need the database to decide (the domain's own live in
``domain/leads/errors.py``)."""

from __future__ import annotations

from uuid import UUID

from scaliyo.domain.shared.errors import (
    Conflict,
    DomainError,
    ErrorKind,
    FieldError,
    NotFound,
    ValidationFailed,
)
from scaliyo.domain.usage.counters import BYTES_PER_MB

KEY_LABELS = {"email": "email", "linkedin_url": "LinkedIn URL", "name_company": "name and company"}


class LeadExists(Conflict):
    """Another lead already has this identity (email, LinkedIn URL, or name with company)."""

    code = "lead_exists"
    title = "A lead with this identity exists already"

    def __init__(self, lead_id: UUID | None, key: str = "email") -> None:
        self.lead_id = lead_id
        field = "email" if key == "name_company" else key
        label = KEY_LABELS.get(key, key)
        who = f"Lead {lead_id}" if lead_id else "Another lead"
        message = f"{who} has this {label} already."
        super().__init__(message, errors=[FieldError(field, "lead_exists", message)])


class ContactLimitReached(DomainError):
    code = "contact_limit_reached"
    kind = ErrorKind.LIMIT
    title = "The plan's contact limit is reached"

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        shown = "its" if limit is None else f"its {limit:,}"
        super().__init__(
            f"This workspace has {shown} contacts already; delete leads or upgrade the plan."
        )


class StorageLimitReached(DomainError):
    code = "storage_limit_reached"
    kind = ErrorKind.LIMIT
    title = "The plan's file storage is full"

    def __init__(self, limit_bytes: int | None, size: int) -> None:
        self.limit_bytes = limit_bytes
        shown = "" if limit_bytes is None else f" ({limit_bytes // BYTES_PER_MB:,} MB)"
        super().__init__(
            f"This {size:,}-byte file does not fit in the workspace's file storage{shown}; "
            "delete earlier uploads (they also expire), or upgrade the plan."
        )


class StageNotFound(NotFound):
    code = "stage_not_found"
    title = "No such pipeline stage"


class SegmentNotFound(NotFound):
    code = "segment_not_found"
    title = "No such segment"


class SegmentNameTaken(Conflict):
    code = "segment_name_taken"
    title = "Another segment already has this name"


class InvalidCursor(ValidationFailed):
    code = "invalid_cursor"
    title = "The cursor does not belong to this query"

    def __init__(self, detail: str = "This cursor was given out for another query.") -> None:
        super().__init__(detail, errors=[FieldError("cursor", "invalid_cursor", detail)])


def field_errors(errors: list[FieldError], message: str = "The input is not valid.") -> None:
    """Raise ``ValidationFailed`` listing ``errors`` when there are any."""
    if errors:
        raise ValidationFailed(message, errors=errors)


class UploadNotFound(NotFound):
    code = "upload_not_found"
    title = "Upload not found"


class UploadInUse(Conflict):
    code = "upload_in_use"
    title = "An import of this upload is queued or running"


class UploadExpired(NotFound):
    """The upload's file was deleted after the retention (``lead-uploads-purge``); the HTTP
    layer answers 410."""

    code = "upload_expired"
    title = "The uploaded file is no longer kept"

    def __init__(self) -> None:
        super().__init__("The uploaded file was deleted after its retention; upload it again.")


class ImportFinished(Conflict):
    code = "import_finished"
    title = "The import has ended; there is nothing to cancel"


class ImportNotFound(NotFound):
    code = "import_not_found"
    title = "Import not found"


class FileTooLarge(DomainError):
    code = "file_too_large"
    kind = ErrorKind.LIMIT
    title = "The file is larger than allowed"


class FileRequired(ValidationFailed):
    code = "file_required"
    title = "Send a CSV file"
