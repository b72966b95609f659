"""``Idempotency-Key`` on creating and charging POSTs (DESIGN.md conventions).

A route opts in by producing its result through ``Idempotency.run``. Rules:
- no header: the work runs as usual;
- a key is 1–255 visible ASCII characters, else 422 ``invalid_idempotency_key``;
- the first request with a key runs; its successful response is kept 24 h per workspace, and a
  retry with the same key and the same request (method, path, body) gets that response again,
  with ``Idempotent-Replayed: true``, without running the work twice;
- the same key with another request → 422 ``idempotency_key_reused``;
- a retry while the first request still runs → 409 ``idempotency_request_in_progress``;
- a request that fails (any error) keeps nothing: a retry runs it again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request, Response

from scaliyo.adapters.persistence.idempotency_store import (
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
        key = request.headers.get(HEADER)
        if key is None or context.workspace_id is None:
            return Response(await produce(), status_code=status_code)
        if not _KEY.fullmatch(key):
            raise InvalidIdempotencyKey(
                f"{HEADER} must be 1 to 255 visible ASCII characters.",
                errors=[FieldError(HEADER, "invalid", "1 to 255 visible ASCII characters.")],
            )
        fingerprint = hashlib.sha256(
            b"\n".join([request.method.encode(), request.url.path.encode(), await request.body()])
        ).hexdigest()
        workspace_id = context.workspace_id
        outcome = await self._store.claim(workspace_id, key, fingerprint, self._clock.now())
        if isinstance(outcome, KeyReused):
            raise IdempotencyKeyReused(
                f"{HEADER} {key!r} was already used with a different request.",
                errors=[FieldError(HEADER, "reused", "Use a new key for a new request.")],
            )
        if isinstance(outcome, InProgress):
            raise IdempotencyRequestInProgress()
        if isinstance(outcome, Replay):
            return Response(
                outcome.response,
                status_code=outcome.status,
                headers={REPLAYED_HEADER: "true"},
            )
        assert isinstance(outcome, Claimed)
        try:
            result = await produce()
        except BaseException:
            await self._store.release(workspace_id, key)
            raise
        body = msgspec.to_builtins(result)
        await self._store.complete(workspace_id, key, status_code, body, self._clock.now())
        return Response(body, status_code=status_code)
