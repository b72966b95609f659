"""The blob-storage port: files (uploads, exports, generated images) kept outside the database.

Rules every adapter keeps:

- Keys are namespaced per workspace: ``{workspace_id}/{kind}/{name}``. Every call names the
  workspace it acts for, and a key outside that workspace is refused as invalid, so one workspace
  can never name another's blob. ``kind`` is a short lowercase word (``upload``, ``export`` …);
  ``name`` is one path segment of letters, digits, ``.``, ``_``, ``=`` and ``-``.
- Content is written from, and read as, a stream of byte chunks; a blob is not held in memory
  whole. A size limit given to ``put`` is enforced before anything is stored.
- ``put`` on an existing key replaces the blob. A missing blob is ``BlobNotFound`` on ``open``,
  ``None`` from ``metadata``, ``False`` from ``exists`` and ``delete``.
- Storage that cannot be reached now (a timeout, no connection) is ``BlobStorageUnavailable``
  from any call, reading included: a 503 to a client, another attempt for a job.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from typing import Protocol
from uuid import UUID

import msgspec

from scaliyo.domain.shared.errors import DomainError, ErrorKind, NotFound, ValidationFailed

_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=-]{0,199}$")
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*(;[ \t]*[\x20-\x7e]*)?$")
DEFAULT_CONTENT_TYPE = "application/octet-stream"


class InvalidBlobKey(ValidationFailed):
    code = "invalid_blob_key"
    title = "The blob key is not valid"


class InvalidContentType(ValidationFailed):
    code = "invalid_content_type"
    title = "The content type is not valid"


class BlobNotFound(NotFound):
    code = "blob_not_found"
    title = "Blob not found"


class BlobTooLarge(DomainError):
    code = "blob_too_large"
    kind = ErrorKind.LIMIT
    title = "The file is larger than allowed"


class BlobStorageUnavailable(DomainError):
    code = "storage_unavailable"
    kind = ErrorKind.UNAVAILABLE
    title = "File storage is unavailable"


class BlobCorrupted(RuntimeError):
    """What was read back does not match the stored size or digest."""


class BlobRef(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    size: int
    sha256: str  # hex
    content_type: str


def blob_key(workspace_id: UUID, kind: str, name: str) -> str:
    """The key of blob ``name`` of ``kind`` in a workspace; refuses malformed parts."""
    if not isinstance(workspace_id, UUID):
        raise InvalidBlobKey("A blob key needs a workspace id.")
    if not _KIND.match(kind):
        raise InvalidBlobKey(f"Blob kind {kind!r} must be a short lowercase word.")
    if not _NAME.match(name) or ".." in name:
        raise InvalidBlobKey(
            f"Blob name {name!r} must be one segment of letters, digits, '.', '_', '=' or '-'."
        )
    return f"{workspace_id}/{kind}/{name}"


def check_blob_key(workspace_id: UUID, key: str) -> str:
    """``key`` if it is well formed and inside ``workspace_id``; ``InvalidBlobKey`` otherwise."""
    parts = key.split("/") if isinstance(key, str) else []
    if len(parts) != 3 or parts[0] != str(workspace_id):
        raise InvalidBlobKey("The blob key is not a key of this workspace.")
    return blob_key(workspace_id, parts[1], parts[2])


def check_content_type(content_type: str) -> str:
    if len(content_type) > 255 or not _CONTENT_TYPE.match(content_type):
        raise InvalidContentType(f"{content_type!r} is not a media type such as text/csv.")
    return content_type


class BlobReader(Protocol):
    """An open blob: its metadata, and its content as chunks (iterate once)."""

    ref: BlobRef

    def __aiter__(self) -> AsyncIterator[bytes]: ...


class BlobStorage(Protocol):
    async def put(
        self,
        workspace_id: UUID,
        kind: str,
        name: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        max_size: int | None = None,
    ) -> BlobRef:
        """Store the chunks under ``{workspace_id}/{kind}/{name}``; ``BlobTooLarge`` past
        ``max_size`` bytes (nothing is stored then)."""
        ...

    async def open(self, workspace_id: UUID, key: str) -> BlobReader:
        """The blob for streaming read; ``BlobNotFound`` when there is none."""
        ...

    async def metadata(self, workspace_id: UUID, key: str) -> BlobRef | None: ...

    async def exists(self, workspace_id: UUID, key: str) -> bool: ...

    async def delete(self, workspace_id: UUID, key: str) -> bool:
        """Remove the blob; whether there was one."""
        ...
