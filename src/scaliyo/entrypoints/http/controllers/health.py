"""Probes and scrapes: ``/healthz`` (up, no I/O), ``/readyz`` (dependencies), ``/metrics``."""

from __future__ import annotations

from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, get

from scaliyo.adapters.metrics import HttpMetrics, render
from scaliyo.entrypoints.http.dto import Health, Ready
from scaliyo.entrypoints.http.problems import problem_response
from scaliyo.entrypoints.http.readiness import Readiness, is_ready


@get("/healthz", tags=["operations"], summary="The process is up", sync_to_thread=False)
def healthz() -> Health:
    return Health(status="ok")


@get(
    "/readyz",
    tags=["operations"],
    summary="PostgreSQL and NATS are reachable and the schema is at head",
)
@inject
async def readyz(request: Request, readiness: FromDishka[Readiness]) -> Response:
    checks = await readiness.check()
    if is_ready(checks):
        return Response(Ready(status="ready", checks=checks))
    failing = ", ".join(f"{name}: {value}" for name, value in checks.items() if value != "ok")
    return problem_response(
        request,
        status=503,
        code="not_ready",
        title="Not ready",
        detail=f"Failing checks — {failing}.",
        extensions={"checks": checks},
    )


@get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
@inject
async def metrics(metrics: FromDishka[HttpMetrics]) -> Response[bytes]:
    body, content_type = render(metrics.registry)
    return Response(body, media_type=content_type)


route_handlers = [healthz, readyz, metrics]
