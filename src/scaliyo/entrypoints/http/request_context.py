"""The outermost ASGI layer: request id, log context, access line and metrics.

It wraps Litestar's whole handler (routing and error handling included), so unknown routes,
framework errors and 500s get a request id, a log line and a count like any other request.

Rules:
- an incoming ``X-Request-Id`` of 1–128 characters of ``[A-Za-z0-9._-]`` is kept; anything else
  is replaced by a new id;
- the id is echoed in the ``X-Request-Id`` response header, stored in ``scope["state"]`` for the
  handlers (and the bus ``Context``), and bound into every log line of the request;
- metrics are labelled with the route template, never the raw path.
"""

from __future__ import annotations

import re
import time

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.logging import get_logger
from scaliyo.adapters.metrics import HttpMetrics

REQUEST_ID_HEADER = "x-request-id"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# Probes and scrapes are frequent: their access lines are debug unless they fail.
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})

access_log = get_logger("scaliyo.http.access")


def accept_request_id(raw: str | None) -> str:
    if raw is not None and _SANE_REQUEST_ID.fullmatch(raw):
        return raw
    return new_id().hex


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            try:
                return value.decode("latin-1")
            except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
                return None
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.metrics: HttpMetrics | None = None  # set at start-up from the container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = accept_request_id(_header(scope, REQUEST_ID_HEADER.encode()))
        scope.setdefault("state", {})["request_id"] = request_id  # type: ignore[typeddict-unknown-key]
        encoded_id = request_id.encode()
        status = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (key, value)
                    for key, value in message.get("headers", ())
                    if key.lower() != REQUEST_ID_HEADER.encode()
                ]
                headers.append((REQUEST_ID_HEADER.encode(), encoded_id))
                message = {**message, "headers": headers}  # type: ignore[misc]
            await send(message)

        method, path = scope["method"], scope["path"]
        metrics = self.metrics
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            if metrics is not None:
                metrics.in_flight.inc()
            try:
                await self.app(scope, receive, send_with_request_id)
            finally:
                seconds = time.perf_counter() - started
                route = scope.get("path_template")
                if metrics is not None:
                    metrics.in_flight.dec()
                    metrics.observe(method=method, route=route, status=status, seconds=seconds)
                quiet = route in QUIET_ROUTES and status < 400
                (access_log.debug if quiet else access_log.info)(
                    "request",
                    method=method,
                    path=path,
                    route=route,
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                )
