"""The HTTP process's dishka providers: authentication seam, NATS link, readiness, metrics, and
the bus ``Context`` of a request."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dishka import Provider, Scope, provide
from litestar import Request

from scaliyo.adapters.metrics import HttpMetrics
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.settings import Settings
from scaliyo.application.bus import Bus, Context
from scaliyo.entrypoints.http.auth import RequestAuthenticator, default_authenticator
from scaliyo.entrypoints.http.problems import request_id_of
from scaliyo.entrypoints.http.readiness import NatsLink, Readiness


class HttpProvider(Provider):
    @provide(scope=Scope.APP)
    def authenticator(self, settings: Settings, bus: Bus) -> RequestAuthenticator:
        return default_authenticator(settings, bus)

    @provide(scope=Scope.APP)
    async def nats_link(self, settings: Settings) -> AsyncIterator[NatsLink]:
        link = NatsLink(settings.require_nats())
        link.start()
        yield link
        await link.close()

    @provide(scope=Scope.APP)
    def readiness(self, database: Database, nats: NatsLink) -> Readiness:
        return Readiness(database, nats)

    @provide(scope=Scope.APP)
    def metrics(self) -> HttpMetrics:
        return HttpMetrics()

    @provide(scope=Scope.REQUEST)
    async def context(self, request: Request, authenticator: RequestAuthenticator) -> Context:
        """The bus context of a workspace-scoped request: asking for it authenticates."""
        request_id = request_id_of(request) or ""
        principal = await authenticator.authenticate(request, request_id)
        return Context(
            request_id=request_id, actor=principal.actor, workspace_id=principal.workspace_id
        )
