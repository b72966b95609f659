"""Blob storage on the real NATS JetStream object store."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client

from scaliyo.adapters.blobs.nats_object_store import NatsObjectStore
from scaliyo.adapters.ids import new_id
from scaliyo.application.shared.blobs import (
    BlobNotFound,
    BlobStorageUnavailable,
    BlobTooLarge,
    InvalidBlobKey,
    InvalidContentType,
)

BUCKET = "scaliyo-blobs-test"


@pytest.fixture
def blobs(nc: Client) -> NatsObjectStore:
    return NatsObjectStore(nc.jetstream(), bucket=BUCKET, spool_memory=1024 * 1024)


async def chunked(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(blobs: NatsObjectStore, workspace, key: str) -> tuple[bytes, int]:
    reader = await blobs.open(workspace, key)
    parts = [chunk async for chunk in reader]
    return b"".join(parts), len(parts)


async def test_a_multi_megabyte_blob_round_trips_streamed_and_is_deleted(
    blobs: NatsObjectStore,
) -> None:
    workspace = new_id()
    data = os.urandom(5 * 1024 * 1024 + 123)

    ref = await blobs.put(
        workspace, "export", "leads-2026.csv", chunked(data), content_type="text/csv"
    )

    assert ref.key == f"{workspace}/export/leads-2026.csv"
    assert ref.size == len(data)
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert ref.content_type == "text/csv"
    assert await blobs.metadata(workspace, ref.key) == ref
    assert await blobs.exists(workspace, ref.key)

    reader = await blobs.open(workspace, ref.key)
    assert reader.ref == ref
    content, chunks = await read_all(blobs, workspace, ref.key)
    assert content == data
    assert chunks > 1  # streamed in pieces, not handed over whole

    assert await blobs.delete(workspace, ref.key) is True
    assert not await blobs.exists(workspace, ref.key)
    assert await blobs.metadata(workspace, ref.key) is None
    with pytest.raises(BlobNotFound):
        await blobs.open(workspace, ref.key)
    assert await blobs.delete(workspace, ref.key) is False


async def test_a_missing_key_is_not_found(blobs: NatsObjectStore) -> None:
    workspace = new_id()
    key = f"{workspace}/upload/{new_id()}"

    with pytest.raises(BlobNotFound):
        await blobs.open(workspace, key)
    assert await blobs.metadata(workspace, key) is None
    assert not await blobs.exists(workspace, key)
    assert await blobs.delete(workspace, key) is False


async def test_put_replaces_a_blob_and_keeps_empty_ones(blobs: NatsObjectStore) -> None:
    workspace = new_id()
    await blobs.put(workspace, "image", "logo.png", chunked(b"first version"))
    ref = await blobs.put(workspace, "image", "logo.png", chunked(b""), content_type="image/png")

    assert ref.size == 0
    assert await blobs.metadata(workspace, ref.key) == ref
    assert await read_all(blobs, workspace, ref.key) == (b"", 0)


async def test_one_workspace_cannot_name_another_workspaces_blob(blobs: NatsObjectStore) -> None:
    owner, other = new_id(), new_id()
    ref = await blobs.put(owner, "upload", "contacts.csv", chunked(b"email\na@example.com\n"))

    for call in (blobs.open, blobs.metadata, blobs.exists, blobs.delete):
        with pytest.raises(InvalidBlobKey):
            await call(other, ref.key)
    assert await blobs.exists(owner, ref.key)


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("Upload", "a.csv"),
        ("upload", "../a.csv"),
        ("upload", "a/b.csv"),
        ("upload", ""),
        ("upload", "a b.csv"),
        ("", "a.csv"),
        ("upload", "x" * 300),
    ],
)
async def test_malformed_keys_are_refused_before_anything_is_stored(
    blobs: NatsObjectStore, kind: str, name: str
) -> None:
    with pytest.raises(InvalidBlobKey):
        await blobs.put(new_id(), kind, name, chunked(b"data"))


@pytest.mark.parametrize("key_suffix", ["", "/upload", "/upload/a.csv/b", "/upload/.."])
async def test_malformed_keys_are_refused_on_read(blobs: NatsObjectStore, key_suffix: str) -> None:
    workspace = new_id()
    with pytest.raises(InvalidBlobKey):
        await blobs.open(workspace, f"{workspace}{key_suffix}")


async def test_size_limit_and_content_type_are_enforced(blobs: NatsObjectStore) -> None:
    workspace = new_id()
    with pytest.raises(BlobTooLarge):
        await blobs.put(workspace, "upload", "big.bin", chunked(b"x" * 2048, 512), max_size=1000)
    assert not await blobs.exists(workspace, f"{workspace}/upload/big.bin")

    with pytest.raises(InvalidContentType):
        await blobs.put(
            workspace, "upload", "a.txt", chunked(b"x"), content_type="text/plain\r\nX-Evil: 1"
        )


async def test_storage_that_cannot_be_reached_is_unavailable_not_an_unexpected_error(
    nats_url: str,
) -> None:
    """Every call on a connection that is gone raises ``BlobStorageUnavailable`` (a 503 to a
    client, another attempt for a job), reading a blob opened before included."""
    client = await nats.connect(nats_url)
    blobs = NatsObjectStore(client.jetstream(), bucket=BUCKET)
    workspace = new_id()
    ref = await blobs.put(workspace, "upload", "kept.csv", chunked(b"a,b\n" * 1000))
    opened = await blobs.open(workspace, ref.key)
    await client.close()

    async def read() -> bytes:
        return b"".join([chunk async for chunk in opened])

    calls = {
        "put": lambda: blobs.put(workspace, "upload", "new.csv", chunked(b"x")),
        "open": lambda: blobs.open(workspace, ref.key),
        "metadata": lambda: blobs.metadata(workspace, ref.key),
        "exists": lambda: blobs.exists(workspace, ref.key),
        "delete": lambda: blobs.delete(workspace, ref.key),
        "read": read,
    }
    for name, call in calls.items():
        with pytest.raises(BlobStorageUnavailable):
            await call()
            pytest.fail(f"{name} did not fail")
