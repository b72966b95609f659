"""Blob storage on the NATS JetStream object store (no extra infrastructure; shared by every
machine that reaches NATS).

How it streams, given what nats-py 2.16 offers:

- ``ObjectStore.put`` reads from a file-like object, so incoming chunks are spooled into a
  ``SpooledTemporaryFile`` (memory up to ``spool_memory`` bytes, then a temporary file) while
  their size and SHA-256 are taken; the size limit is enforced before NATS sees a byte.
- ``ObjectStore.get`` gathers the whole object in memory, so reads follow the object store's
  wire layout instead (ADR-20: chunks on ``$O.<bucket>.C.<nuid>``) with an ordered consumer and
  yield chunk by chunk, checking size and digest at the end.

The content type is kept in the object's headers (``Content-Type``). NATS that cannot answer
now (a timeout, a connection closed or reconnecting, JetStream unavailable) is
``BlobStorageUnavailable``; other NATS errors are bugs and are left as they are.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from uuid import UUID

from nats import errors as nats_errors
from nats.js import JetStreamContext
from nats.js import errors as js_errors
from nats.js.api import ObjectInfo, ObjectMeta, ObjectStoreConfig, StorageType
from nats.js.errors import BucketNotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from scaliyo.application.shared.blobs import (
    DEFAULT_CONTENT_TYPE,
    BlobCorrupted,
    BlobNotFound,
    BlobRef,
    BlobStorageUnavailable,
    BlobTooLarge,
    blob_key,
    check_blob_key,
    check_content_type,
)

DEFAULT_BUCKET = "scaliyo-blobs"
CONTENT_TYPE = "Content-Type"
_DIGEST_PREFIX = "SHA-256="
# NATS cannot answer now; nats' TimeoutError is also the built-in one
_UNAVAILABLE = (
    TimeoutError,
    ConnectionError,
    nats_errors.ConnectionClosedError,
    nats_errors.ConnectionDrainingError,
    nats_errors.ConnectionReconnectingError,
    nats_errors.NoServersError,
    nats_errors.NoRespondersError,
    nats_errors.OutboundBufferLimitError,
    nats_errors.StaleConnectionError,
    nats_errors.UnexpectedEOF,
    js_errors.ServiceUnavailableError,
    js_errors.NoStreamResponseError,
    js_errors.ServerError,
)


@contextmanager
def _reachable() -> Iterator[None]:
    try:
        yield
    except _UNAVAILABLE as error:
        raise BlobStorageUnavailable(
            "File storage cannot be reached now; try again in a moment."
        ) from error


class NatsObjectStore:
    def __init__(
        self,
        js: JetStreamContext,
        bucket: str = DEFAULT_BUCKET,
        *,
        spool_memory: int = 8 * 1024 * 1024,
        chunk_timeout: float = 10.0,
    ) -> None:
        self._js = js
        self._bucket = bucket
        self._spool_memory = spool_memory
        self._chunk_timeout = chunk_timeout
        self._store: ObjectStore | None = None

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
        key = blob_key(workspace_id, kind, name)
        check_content_type(content_type)
        digest = hashlib.sha256()
        size = 0
        with tempfile.SpooledTemporaryFile(max_size=self._spool_memory) as spool:
            async for chunk in chunks:
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise BlobTooLarge(f"The file is larger than {max_size} bytes.")
                digest.update(chunk)
                spool.write(chunk)
            spool.seek(0)
            meta = ObjectMeta(name=key, headers={CONTENT_TYPE: [content_type]})
            with _reachable():
                store = await self._object_store()
                await store.put(key, spool, meta=meta)
        return BlobRef(key=key, size=size, sha256=digest.hexdigest(), content_type=content_type)

    async def open(self, workspace_id: UUID, key: str) -> NatsBlobReader:
        info = await self._info(workspace_id, key)
        if info is None:
            raise BlobNotFound(f"There is no blob {key}.")
        return NatsBlobReader(self._js, self._bucket, info, self._chunk_timeout)

    async def metadata(self, workspace_id: UUID, key: str) -> BlobRef | None:
        info = await self._info(workspace_id, key)
        return None if info is None else _ref(info)

    async def exists(self, workspace_id: UUID, key: str) -> bool:
        return await self._info(workspace_id, key) is not None

    async def delete(self, workspace_id: UUID, key: str) -> bool:
        key = check_blob_key(workspace_id, key)
        with _reachable():
            store = await self._object_store()
            try:
                await store.delete(key)
            except ObjectNotFoundError:
                return False
        return True

    async def _info(self, workspace_id: UUID, key: str) -> ObjectInfo | None:
        key = check_blob_key(workspace_id, key)
        with _reachable():
            store = await self._object_store()
            try:
                return await store.get_info(key)
            except ObjectNotFoundError:
                return None

    async def _object_store(self) -> ObjectStore:
        if self._store is None:
            try:
                self._store = await self._js.object_store(self._bucket)
            except BucketNotFoundError:
                self._store = await self._js.create_object_store(
                    self._bucket, config=ObjectStoreConfig(storage=StorageType.FILE)
                )
        return self._store


class NatsBlobReader:
    """One stored object, read chunk by chunk from its stream with an ordered consumer."""

    def __init__(
        self, js: JetStreamContext, bucket: str, info: ObjectInfo, chunk_timeout: float
    ) -> None:
        self._js = js
        self._bucket = bucket
        self._info = info
        self._chunk_timeout = chunk_timeout
        self.ref = _ref(info)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = self._info.size or 0
        if size == 0:
            return
        with _reachable():
            subscription = await self._js.subscribe(
                f"$O.{self._bucket}.C.{self._info.nuid}",
                stream=f"OBJ_{self._bucket}",
                ordered_consumer=True,
            )
        digest = hashlib.sha256()
        received = 0
        try:
            while received < size:
                with _reachable():
                    msg = await subscription.next_msg(timeout=self._chunk_timeout)
                digest.update(msg.data)
                received += len(msg.data)
                yield msg.data
        finally:
            with suppress(*_UNAVAILABLE):  # a subscription goes with its connection anyway
                await subscription.unsubscribe()
        if received != size or digest.hexdigest() != self.ref.sha256:
            raise BlobCorrupted(f"blob {self.ref.key} does not match its size or digest")


def _ref(info: ObjectInfo) -> BlobRef:
    headers = info.headers or {}
    content_type = headers.get(CONTENT_TYPE) or DEFAULT_CONTENT_TYPE
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else DEFAULT_CONTENT_TYPE
    return BlobRef(
        key=info.name,
        size=info.size or 0,
        sha256=_hex_digest(info.digest),
        content_type=content_type,
    )


def _hex_digest(digest: str | None) -> str:
    if not digest:
        return hashlib.sha256().hexdigest()  # the digest of no bytes
    encoded = digest.removeprefix(_DIGEST_PREFIX).removeprefix(_DIGEST_PREFIX.upper())
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).hex()
