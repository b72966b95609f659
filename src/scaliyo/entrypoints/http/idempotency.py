"""``Idempotency-Key`` on creating and charging POSTs (DESIGN.md conventions).

A route opts in by producing its result through ``Idempotency.run``. Rules:
- no header: the work runs as usual;
- a key is 1–255 visible ASCII characters, else 422 ``invalid_idempotency_key``;
- the first request with a key runs; its successful response is kept 24 h per workspace, and a
  retry with the same key and the same request (method, path, body) gets that response again,
  with ``Idempotent-Replayed: true``, without running the work twice;
- the same key with another request → 422 ``idempotency_key_reused``;
- a retry while the first request still runs → 409 ``idempotency_request_in_progress``;
- a request that fails (any error) keeps nothing: a retry runs it again;
- a request still running holds its key, however long it takes (an upload of minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, Response

from scaliyo.adapters.persistence.idempotency_store import (
    HOLD_EVERY,
    Claimed,
    IdempotencyStore,
    InProgress,
    KeyReused,
    Replay,
)
from scaliyo.application.bus import Context
from scaliyo.application.shared.ports import Clock
from scaliyo.domain.shared.errors import Conflict, FieldError, ValidationFailed

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


class InvalidIdempotencyKey(ValidationFailed):
    code = "invalid_idempotency_key"
    title = "The Idempotency-Key header is not valid"


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used with another request"


class IdempotencyRequestInProgress(Conflict):
    code = "idempotency_request_in_progress"
    title = "A request with this Idempotency-Key is still running"


class Idempotency:
    def __init__(self, store: IdempotencyStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def run(
        self,
        request: Request,
        context: Context,
        produce: Callable[[], Awaitable[Any]],
        *,
        status_code: int = 201,
    ) -> Response:
        key = _key_of(request, context)
        if key is None:
            return Response(await produce(), status_code=status_code)
        body = await request.body()
        outcome = await self._claim(context, key, _fingerprint(request, body))
        if isinstance(outcome, Replay):
            return _replayed(outcome)
        return await self._produce(context, key, produce, status_code)

    async def run_streamed(
        self,
        request: Request,
        context: Context,
        produce: Callable[[], Awaitable[Any]],
        same_body: Callable[[Any], Awaitable[bool]],
        *,
        status_code: int = 201,
    ) -> Response:
        """``run`` for a body too large to hold (an upload): the key is claimed before the body
        is read, by method and path; a retry's body is read by ``same_body``, which tells from
        the stored answer whether it is the first request's (else 422
        ``idempotency_key_reused``)."""
        key = _key_of(request, context)
        if key is None:
            return Response(await produce(), status_code=status_code)
        outcome = await self._claim(context, key, _fingerprint(request, b"(streamed)"))
        if isinstance(outcome, Replay):
            if not await same_body(outcome.response):
                raise _reused(key)
            return _replayed(outcome)
        return await self._produce(context, key, produce, status_code)

    async def _claim(self, context: Context, key: str, fingerprint: str) -> Claimed | Replay:
        assert context.workspace_id is not None
        outcome = await self._store.claim(context.workspace_id, key, fingerprint, self._clock.now())
        if isinstance(outcome, KeyReused):
            raise _reused(key)
        if isinstance(outcome, InProgress):
            raise IdempotencyRequestInProgress()
        return outcome

    async def _produce(
        self,
        context: Context,
        key: str,
        produce: Callable[[], Awaitable[Any]],
        status_code: int,
    ) -> Response:
        workspace_id = context.workspace_id
        assert workspace_id is not None
        holding = asyncio.create_task(self._hold(workspace_id, key))
        try:
            result = await produce()
        except BaseException:
            holding.cancel()
            await self._store.release(workspace_id, key)
            raise
        holding.cancel()
        body = msgspec.to_builtins(result)
        await self._store.complete(workspace_id, key, status_code, body, self._clock.now())
        return Response(body, status_code=status_code)

    async def _hold(self, workspace_id: UUID, key: str) -> None:
        """Keeps a long request's claim from being taken for abandoned by a retry."""
        while True:
            await asyncio.sleep(HOLD_EVERY.total_seconds())
            with contextlib.suppress(Exception):  # the next beat, or the answer, settles it
                await self._store.hold(workspace_id, key, self._clock.now())


def _key_of(request: Request, context: Context) -> str | None:
    key = request.headers.get(HEADER)
    if key is None or context.workspace_id is None:
        return None
    if not _KEY.fullmatch(key):
        raise InvalidIdempotencyKey(
            f"{HEADER} must be 1 to 255 visible ASCII characters.",
            errors=[FieldError(HEADER, "invalid", "1 to 255 visible ASCII characters.")],
        )
    return key


def _fingerprint(request: Request, body: bytes) -> str:
    return hashlib.sha256(
        b"\n".join([request.method.encode(), request.url.path.encode(), body])
    ).hexdigest()


def _reused(key: str) -> IdempotencyKeyReused:
    return IdempotencyKeyReused(
        f"{HEADER} {key!r} was already used with a different request.",
        errors=[FieldError(HEADER, "reused", "Use a new key for a new request.")],
    )


def _replayed(outcome: Replay) -> Response:
    return Response(outcome.response, status_code=outcome.status, headers={REPLAYED_HEADER: "true"})
