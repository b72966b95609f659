"""Who is asking, and for which workspace: sessions (a cookie) and API keys (Bearer).

A ``RequestAuthenticator`` (provided through dishka) turns a request into a ``Principal``: the
actor, the workspace of the request and the credential's extras (``session_id`` or
``api_key_id``). ``CredentialAuthenticator`` is the one every environment uses; the rules of
credentials themselves live in ``application/identity/authentication.py``.

Rules of the HTTP side:
- ``Authorization: Bearer sk_…`` wins over a cookie; any other ``Authorization`` value is 401;
- otherwise the ``scaliyo_session`` cookie; neither is 401 ``unauthenticated``;
- a cookie-authenticated POST, PUT, PATCH or DELETE must send ``X-CSRF-Token`` with the token
  sign-in returned (403 ``csrf_failed``); Bearer requests are exempt (no browser sends them on
  its own);
- ``X-Workspace-Id`` picks one of the session user's workspaces (404 ``workspace_not_found``
  when it is not theirs); with an API key it may only name the key's own workspace.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NewType, Protocol
from uuid import UUID

from litestar import Request
from litestar.datastructures import Cookie

from scaliyo.adapters.settings import Environment, Settings
from scaliyo.application.bus import Actor, Context
from scaliyo.application.identity.authentication import (
    Authentication,
    CsrfFailed,
    Unauthenticated,
)
from scaliyo.application.identity.handlers import WorkspaceNotFound
from scaliyo.domain.identity.lifetimes import SESSION_ABSOLUTE
from scaliyo.domain.shared.ids import WorkspaceId

SESSION_COOKIE = "scaliyo_session"
CSRF_HEADER = "X-CSRF-Token"
WORKSPACE_HEADER = "X-Workspace-Id"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
USER_AGENT_MAX_LENGTH = 512

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "WORKSPACE_HEADER",
    "CredentialAuthenticator",
    "CsrfFailed",
    "OptionalContext",
    "Principal",
    "PublicContext",
    "RequestAuthenticator",
    "Unauthenticated",
    "client_ip",
    "request_extras",
]

# Besides ``Context`` (authenticated: 401 without credentials), controllers may ask dishka for:
# the context of an unauthenticated route (sign-up, sign-in, token links): an anonymous actor,
# no workspace, credentials not looked at;
PublicContext = NewType("PublicContext", Context)
# authenticated when credentials are sent and valid, anonymous otherwise (CSRF still applies to
# a valid cookie session).
OptionalContext = NewType("OptionalContext", Context)


@dataclass(frozen=True, slots=True)
class Principal:
    actor: Actor
    workspace_id: WorkspaceId | None
    extras: Mapping[str, Any] = field(default_factory=dict)


class RequestAuthenticator(Protocol):
    async def authenticate(self, request: Request, request_id: str) -> Principal:
        """The actor and workspace of a request that must be authenticated.

        Raise ``Unauthenticated`` (401) when the request proves no identity, ``CsrfFailed``
        (403) for a cookie-authenticated unsafe request without its CSRF token, and
        ``WorkspaceNotFound`` (404) when it names a workspace the caller cannot see.
        """
        ...


class CredentialAuthenticator:
    def __init__(self, authentication: Authentication) -> None:
        self._authentication = authentication

    async def authenticate(self, request: Request, request_id: str) -> Principal:
        authorization = request.headers.get("authorization")
        workspace_header = request.headers.get(WORKSPACE_HEADER)
        if authorization is not None:
            scheme, _, credentials = authorization.strip().partition(" ")
            if scheme.lower() != "bearer" or not credentials.strip():
                raise Unauthenticated("Send `Authorization: Bearer sk_…`, or sign in.")
            who = await self._authentication.with_api_key(credentials.strip())
            if workspace_header is not None and not _names(workspace_header, who.workspace_id):
                raise WorkspaceNotFound()
        else:
            token = request.cookies.get(SESSION_COOKIE)
            if not token:
                raise Unauthenticated("Sign in, or send an API key.")
            who = await self._authentication.with_session(token, workspace_header)
            if request.method.upper() in UNSAFE_METHODS:
                self._authentication.check_csrf(who, request.headers.get(CSRF_HEADER))
        return Principal(actor=who.actor, workspace_id=who.workspace_id, extras=who.extras())


def _names(header: str, workspace_id: WorkspaceId | None) -> bool:
    try:
        return UUID(header.strip()) == workspace_id
    except ValueError:
        return False


def client_ip(request: Request, trusted_proxy_hops: int) -> str | None:
    """The client's address: the peer, or with ``trusted_proxy_hops`` proxies in front, the
    X-Forwarded-For entry that many hops from the right (entries further left are whatever the
    client claims)."""
    raw = request.client.host if request.client else None
    if trusted_proxy_hops > 0:
        forwarded = [
            part.strip()
            for value in request.headers.getall("x-forwarded-for", [])
            for part in value.split(",")
            if part.strip()
        ]
        if len(forwarded) >= trusted_proxy_hops:
            raw = forwarded[-trusted_proxy_hops]
    if raw is None:
        return None
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return raw[:64]  # a test client's or a unix socket's peer name


def request_extras(request: Request, settings: Settings) -> dict[str, Any]:
    """What every bus context of a request carries: the client's IP and user agent."""
    extras: dict[str, Any] = {"ip": client_ip(request, settings.trusted_proxy_hops)}
    if user_agent := request.headers.get("user-agent"):
        extras["user_agent"] = user_agent[:USER_AGENT_MAX_LENGTH]
    return extras


def _secure(settings: Settings) -> bool:
    return settings.env not in {Environment.DEV, Environment.TEST}


def session_cookie(token: str, settings: Settings) -> Cookie:
    """The session cookie: HttpOnly, SameSite=Lax, Path=/, Secure outside dev and test; it
    lives as long as the session's absolute lifetime (the server enforces the idle one)."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path="/",
        max_age=int(SESSION_ABSOLUTE.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
    )


def cleared_session_cookie(settings: Settings) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        path="/",
        max_age=0,
        expires=0,
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
    )
