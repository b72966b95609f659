"""The HTTP process's dishka providers: authentication, NATS link, readiness, metrics, and the
bus ``Context`` of a request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from dishka import Provider, Scope, provide
from litestar import Request

from scaliyo.adapters.blobs.nats_object_store import NatsObjectStore
from scaliyo.adapters.metrics import HttpMetrics
from scaliyo.adapters.persistence.credential_activity import SqlCredentialActivity
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.idempotency_store import IdempotencyStore
from scaliyo.adapters.settings import Settings
from scaliyo.application.bus import ANONYMOUS, Context
from scaliyo.application.identity.authentication import (
    Authentication,
    CredentialDirectory,
    Unauthenticated,
)
from scaliyo.application.identity.security import SecretTokens
from scaliyo.application.shared.blobs import BlobStorage, BlobStorageUnavailable
from scaliyo.application.shared.ports import Clock
from scaliyo.entrypoints.http.auth import (
    CredentialAuthenticator,
    OptionalContext,
    PublicContext,
    RequestAuthenticator,
    request_extras,
)
from scaliyo.entrypoints.http.idempotency import Idempotency
from scaliyo.entrypoints.http.problems import request_id_of
from scaliyo.entrypoints.http.readiness import NatsLink, Readiness

NATS_WAIT_SECONDS = 5.0  # what a request needing NATS waits for it while it is down


class HttpProvider(Provider):
    @provide(scope=Scope.APP)
    def authentication(
        self,
        directory: CredentialDirectory,
        tokens: SecretTokens,
        clock: Clock,
        database: Database,
    ) -> Authentication:
        return Authentication(directory, tokens, clock, SqlCredentialActivity(database.app))

    @provide(scope=Scope.APP)
    def authenticator(self, authentication: Authentication) -> RequestAuthenticator:
        return CredentialAuthenticator(authentication)

    @provide(scope=Scope.APP)
    async def nats_link(self, settings: Settings) -> AsyncIterator[NatsLink]:
        link = NatsLink(settings.require_nats())
        link.start()
        yield link
        await link.close()

    @provide(scope=Scope.APP)
    async def blobs(self, nats: NatsLink) -> BlobStorage:
        """Blob storage once NATS is up; while it is not, a request needing it waits at most
        ``NATS_WAIT_SECONDS`` and answers 503 ``storage_unavailable`` (the next one tries
        again)."""
        try:
            client = await asyncio.wait_for(nats.connected(), NATS_WAIT_SECONDS)
        except TimeoutError:
            raise BlobStorageUnavailable(
                "File storage cannot be reached now; try again in a moment."
            ) from None
        return NatsObjectStore(client.jetstream())

    @provide(scope=Scope.APP)
    def readiness(self, database: Database, nats: NatsLink) -> Readiness:
        return Readiness(database, nats)

    @provide(scope=Scope.APP)
    def idempotency(self, database: Database, clock: Clock) -> Idempotency:
        return Idempotency(IdempotencyStore(database.app), clock)

    @provide(scope=Scope.APP)
    def metrics(self) -> HttpMetrics:
        return HttpMetrics()

    @provide(scope=Scope.REQUEST)
    async def context(
        self, request: Request, authenticator: RequestAuthenticator, settings: Settings
    ) -> Context:
        """The bus context of an authenticated request: asking for it authenticates."""
        request_id = request_id_of(request) or ""
        principal = await authenticator.authenticate(request, request_id)
        return Context(
            request_id=request_id,
            actor=principal.actor,
            workspace_id=principal.workspace_id,
            extras={**request_extras(request, settings), **principal.extras},
        )

    @provide(scope=Scope.REQUEST)
    def public_context(self, request: Request, settings: Settings) -> PublicContext:
        """The context of an unauthenticated route: anonymous, no workspace."""
        return PublicContext(
            Context(
                request_id=request_id_of(request) or "",
                actor=ANONYMOUS,
                extras=request_extras(request, settings),
            )
        )

    @provide(scope=Scope.REQUEST)
    async def optional_context(
        self, request: Request, authenticator: RequestAuthenticator, settings: Settings
    ) -> OptionalContext:
        """Authenticated when valid credentials come with the request, anonymous otherwise."""
        request_id = request_id_of(request) or ""
        extras = request_extras(request, settings)
        try:
            principal = await authenticator.authenticate(request, request_id)
        except Unauthenticated:
            return OptionalContext(Context(request_id=request_id, actor=ANONYMOUS, extras=extras))
        return OptionalContext(
            Context(
                request_id=request_id,
                actor=principal.actor,
                workspace_id=principal.workspace_id,
                extras={**extras, **principal.extras},
            )
        )
