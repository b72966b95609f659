"""The command/query bus.

Every use case is a message (a frozen msgspec Struct) with exactly one handler, registered in an
explicit ``{Message: handler}`` mapping. ``Bus.execute`` runs the middleware in order —
request id and logging, authorisation, unit of work — and then the handler. The handler commits
through the unit of work; the bus never commits for it and never swallows an error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, ClassVar, Protocol
from uuid import UUID

import msgspec

from scaliyo.application.shared.ports import BaseUnitOfWork, UnitOfWorkFactory
from scaliyo.domain.shared.errors import DomainError, WorkspaceRequired
from scaliyo.domain.shared.ids import WorkspaceId

log = logging.getLogger("scaliyo.bus")


class ActorKind(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    SYSTEM = "system"  # workers, schedulers, consumers acting on their own
    OPERATOR = "operator"  # the CLI on a server
    ANONYMOUS = "anonymous"  # an unauthenticated request (sign-up, sign-in, token links)


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: UUID | None = None
    workspace_role: str | None = None
    platform_role: str | None = None


SYSTEM = Actor(ActorKind.SYSTEM)
OPERATOR = Actor(ActorKind.OPERATOR)
ANONYMOUS = Actor(ActorKind.ANONYMOUS)


@dataclass(frozen=True, slots=True)
class Context:
    """Who asks, for which workspace, under which request id."""

    request_id: str
    actor: Actor = SYSTEM
    workspace_id: WorkspaceId | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)

    def for_workspace(self, workspace_id: WorkspaceId) -> Context:
        return replace(self, workspace_id=workspace_id)


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """Base of commands and queries. ``requires_workspace`` is checked before any handler."""

    requires_workspace: ClassVar[bool] = True


class Command(Message, frozen=True, kw_only=True):
    pass


class Query(Message, frozen=True, kw_only=True):
    pass


class Handler(Protocol):
    async def __call__(self, message: Any, uow: Any, context: Context) -> Any: ...


Next = Callable[[Message, Context], Awaitable[Any]]


class Middleware(Protocol):
    async def __call__(self, message: Message, context: Context, call_next: Next) -> Any: ...


class Authorizer(Protocol):
    def authorize(self, message: Message, context: Context) -> None:
        """Raise a DomainError (``PermissionDenied``, ``WorkspaceRequired`` …) to refuse."""
        ...


class UnknownMessage(LookupError):
    """A message type with no registered handler: a programming error, never user input."""


class LoggingMiddleware:
    """Logs each message with its request id, outcome and duration (never its fields)."""

    async def __call__(self, message: Message, context: Context, call_next: Next) -> Any:
        name = type(message).__name__
        started = time.perf_counter()
        try:
            result = await call_next(message, context)
        except DomainError as error:
            log.info(
                "message refused",
                extra={
                    "message_type": name,
                    "request_id": context.request_id,
                    "code": error.code,
                },
            )
            raise
        except Exception:
            log.exception(
                "message failed", extra={"message_type": name, "request_id": context.request_id}
            )
            raise
        log.debug(
            "message handled",
            extra={
                "message_type": name,
                "request_id": context.request_id,
                "ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return result


class WorkspaceAuthorizer:
    """The spine's policy: workspace-scoped messages need a workspace.

    The identity context replaces this with its role-based policy.
    """

    def authorize(self, message: Message, context: Context) -> None:
        if type(message).requires_workspace and context.workspace_id is None:
            raise WorkspaceRequired()


class AuthorizationMiddleware:
    def __init__(self, authorizer: Authorizer) -> None:
        self._authorizer = authorizer

    async def __call__(self, message: Message, context: Context, call_next: Next) -> Any:
        self._authorizer.authorize(message, context)
        return await call_next(message, context)


class Bus:
    def __init__(
        self,
        handlers: Mapping[type[Message], Handler],
        uow_factory: UnitOfWorkFactory,
        middleware: Sequence[Middleware],
    ) -> None:
        self._handlers = dict(handlers)
        self._uow_factory = uow_factory
        self._middleware = tuple(middleware)

    def handles(self, message_type: type[Message]) -> bool:
        return message_type in self._handlers

    async def execute(self, message: Message, context: Context) -> Any:
        handler = self._handlers.get(type(message))
        if handler is None:
            raise UnknownMessage(type(message).__name__)

        async def run_handler(msg: Message, ctx: Context) -> Any:
            async with self._uow_factory(ctx.workspace_id) as uow:
                return await handler(msg, uow, ctx)

        call: Next = run_handler
        for middleware in reversed(self._middleware):
            call = _bind(middleware, call)
        return await call(message, context)


def _bind(middleware: Middleware, call_next: Next) -> Next:
    async def call(message: Message, context: Context) -> Any:
        return await middleware(message, context, call_next)

    return call


def default_middleware(authorizer: Authorizer | None = None) -> list[Middleware]:
    return [LoggingMiddleware(), AuthorizationMiddleware(authorizer or WorkspaceAuthorizer())]


__all__ = [
    "ANONYMOUS",
    "OPERATOR",
    "SYSTEM",
    "Actor",
    "ActorKind",
    "BaseUnitOfWork",
    "Bus",
    "Command",
    "Context",
    "Handler",
    "Message",
    "Query",
]
