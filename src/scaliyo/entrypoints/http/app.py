"""The Litestar application factory.

``create_app(*providers)`` builds the dishka container from the process registry
(``scaliyo.entrypoints.container.providers``) plus the given overrides (tests pass
``SettingsProvider(settings)``), wires it into Litestar, and closes it on shutdown. Nothing is
connected at import time: engines and the NATS link are made at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from dishka import Provider, make_async_container
from dishka.integrations.litestar import LitestarProvider, setup_dishka
from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.types import ControllerRouterHandler

from scaliyo.adapters.logging import get_logger
from scaliyo.adapters.metrics import HttpMetrics
from scaliyo.entrypoints.container import providers as process_providers
from scaliyo.entrypoints.http.controllers import (
    api_keys,
    auth,
    billing,
    credits,
    health,
    invites,
    jobs,
    lead_imports,
    lead_settings,
    leads,
    me,
    members,
    onboarding,
    payments,
    segments,
    workspace,
)
from scaliyo.entrypoints.http.problems import exception_handlers
from scaliyo.entrypoints.http.providers import HttpProvider
from scaliyo.entrypoints.http.readiness import Readiness
from scaliyo.entrypoints.http.request_context import RequestContextMiddleware

API_PREFIX = "/api/v1"
# JSON routes take at most 1 MiB; upload routes raise their own limit (and stream).
JSON_BODY_LIMIT = 1024 * 1024


def api_router() -> Router:
    return Router(
        path=API_PREFIX,
        route_handlers=[
            *auth.route_handlers,
            *jobs.route_handlers,
            *workspace.route_handlers,
            *me.route_handlers,
            *members.route_handlers,
            *invites.route_handlers,
            *api_keys.route_handlers,
            *onboarding.route_handlers,
            *billing.route_handlers,
            *credits.route_handlers,
            *payments.route_handlers,
            *lead_imports.route_handlers,
            *leads.route_handlers,
            *segments.route_handlers,
            *lead_settings.route_handlers,
        ],
    )


def create_app(
    *providers: Provider, route_handlers: Sequence[ControllerRouterHandler] = ()
) -> Litestar:
    """The API. ``route_handlers`` adds handlers at the root (tests use it for probe routes)."""
    container = make_async_container(
        *process_providers(), LitestarProvider(), HttpProvider(), *providers
    )

    async def start(app: Litestar) -> None:
        request_context.metrics = await container.get(HttpMetrics)
        # Make the engines (they connect on first use) and start the NATS link now: a bad
        # setting fails start-up, and the first probe sees a link already on its way.
        await container.get(Readiness)

    async def stop(app: Litestar) -> None:
        await container.close()
        get_logger("scaliyo.http").info("api stopped")

    app = Litestar(
        route_handlers=[*health.route_handlers, api_router(), *route_handlers],
        exception_handlers=exception_handlers(),
        on_startup=[start],
        on_shutdown=[stop],
        openapi_config=OpenAPIConfig(
            title="Scaliyo API",
            version=_version(),
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
        ),
        request_max_body_size=JSON_BODY_LIMIT,
        logging_config=None,  # configure_logging owns the process's logging
        debug=False,
    )
    setup_dishka(container, app)
    request_context = RequestContextMiddleware(app.asgi_handler)
    app.asgi_handler = request_context
    return app


def _version() -> str:
    try:
        return version("scaliyo")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"
