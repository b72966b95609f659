"""Who is asking, and for which workspace: the seam the identity issue fills in.

A ``RequestAuthenticator`` (provided through dishka) turns a request into a ``Principal``: the
actor and the workspace of a workspace-scoped request. The spine ships two:

- ``DevHeaderAuthenticator`` — SCALIYO_ENV ``dev`` and ``test`` ONLY: the ``X-Workspace-Id``
  header names the workspace and the caller acts in it as its owner. Anyone who can reach the
  API can read any workspace this way; it exists so the spine can be exercised before sign-in.
- ``ClosedAuthenticator`` — ``production``: every workspace-scoped route answers 401
  ``unauthenticated`` until sessions and API keys land.

See docs/decisions/0002-http-errors-and-problem-details.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from litestar import Request

from scaliyo.adapters.settings import Environment, Settings
from scaliyo.application.bus import Actor, ActorKind, Bus, Context
from scaliyo.application.identity.commands import GetWorkspace
from scaliyo.domain.shared.errors import DomainError, ErrorKind, FieldError, ValidationFailed
from scaliyo.domain.shared.ids import WorkspaceId

WORKSPACE_HEADER = "X-Workspace-Id"
# The dev/test header acts as the workspace's owner: there is no user yet.
DEV_ACTOR = Actor(ActorKind.USER, workspace_role="owner")


class Unauthenticated(DomainError):
    code = "unauthenticated"
    kind = ErrorKind.UNAUTHENTICATED
    title = "Authentication is required"


@dataclass(frozen=True, slots=True)
class Principal:
    actor: Actor
    workspace_id: WorkspaceId


class RequestAuthenticator(Protocol):
    async def authenticate(self, request: Request, request_id: str) -> Principal:
        """The actor and workspace of a workspace-scoped request.

        Raise ``Unauthenticated`` (401) when the request proves no identity, and a 404-shaped
        error when it names a workspace the caller cannot see.
        """
        ...


class DevHeaderAuthenticator:
    """Dev and test only: ``X-Workspace-Id`` names the workspace.

    Rules:
    - no header: 401 ``unauthenticated``;
    - a header that is not a UUID: 422 ``validation_failed`` naming ``X-Workspace-Id``;
    - a UUID that is no workspace: 404 ``workspace_not_found`` (read through the bus, so row-level
      security decides, as it will for real sessions).
    """

    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def authenticate(self, request: Request, request_id: str) -> Principal:
        raw = request.headers.get(WORKSPACE_HEADER)
        if raw is None:
            raise Unauthenticated(
                f"Send the {WORKSPACE_HEADER} header (dev and test only; sign-in comes later)."
            )
        try:
            workspace_id = WorkspaceId(UUID(raw.strip()))
        except ValueError:
            raise ValidationFailed(
                f"{WORKSPACE_HEADER} must be a workspace id (a UUID).",
                errors=[FieldError(WORKSPACE_HEADER, "invalid_uuid", "Not a UUID.")],
            ) from None
        context = Context(request_id=request_id, actor=DEV_ACTOR, workspace_id=workspace_id)
        await self._bus.execute(GetWorkspace(), context)  # raises WorkspaceNotFound
        return Principal(actor=DEV_ACTOR, workspace_id=workspace_id)


class ClosedAuthenticator:
    """Production until the identity issue lands: nobody is authenticated."""

    async def authenticate(self, request: Request, request_id: str) -> Principal:
        raise Unauthenticated("Sign-in is not available on this server yet.")


def default_authenticator(settings: Settings, bus: Bus) -> RequestAuthenticator:
    if settings.env in {Environment.DEV, Environment.TEST}:
        return DevHeaderAuthenticator(bus)
    return ClosedAuthenticator()
