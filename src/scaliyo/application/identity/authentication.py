"""Who is asking: a session token (from the cookie) or an API key (``Authorization: Bearer``).

Credentials are resolved through the account directory (a platform path: the workspace is not
known before), and the answer is the actor and the workspace of the request. Every failure to
prove an identity is one answer, 401 ``unauthenticated``, whatever went wrong.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from scaliyo.application.bus import Actor, ActorKind
from scaliyo.application.identity.handlers import WorkspaceNotFound
from scaliyo.application.identity.ports import (
    AccountDirectory,
    KeyHolder,
    SessionHolder,
    UserRecord,
    WorkspaceMembership,
)
from scaliyo.application.identity.security import SecretTokens
from scaliyo.application.shared.ports import Clock
from scaliyo.domain.identity import lifetimes
from scaliyo.domain.identity.api_keys import parse_key
from scaliyo.domain.identity.sessions import SessionState
from scaliyo.domain.shared.errors import DomainError, ErrorKind, PermissionDenied
from scaliyo.domain.shared.ids import UserId, WorkspaceId

MAX_SESSION_TOKEN_LENGTH = 256


class Unauthenticated(DomainError):
    code = "unauthenticated"
    kind = ErrorKind.UNAUTHENTICATED
    title = "Authentication is required"


class CsrfFailed(PermissionDenied):
    code = "csrf_failed"
    title = "The CSRF token is missing or wrong"


class CredentialDirectory(AccountDirectory, Protocol):
    """The account directory with the account look-ups of sign-in (a platform path too)."""

    async def key_holder(self, key_id: str) -> KeyHolder | None:
        """An API key with its creator's account and role there, in one read."""
        ...

    async def session_holder(self, token_hash: str) -> SessionHolder | None:
        """A session with its user's account and workspaces, in one read."""
        ...

    async def account(self, user_id: UserId) -> UserRecord | None: ...

    async def account_by_email(self, email: str) -> UserRecord | None:
        """The account of a normalised address, if any."""
        ...


class CredentialActivity(Protocol):
    """Marks credentials as used: at most once a minute each, so reads stay reads."""

    async def session_seen(self, session_id: UUID, now: datetime) -> None: ...

    async def api_key_used(
        self, workspace_id: WorkspaceId, key_row_id: UUID, now: datetime
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Authenticated:
    actor: Actor
    workspace_id: WorkspaceId | None
    session_id: UUID | None = None
    api_key_id: UUID | None = None
    csrf_hash: str | None = None
    is_super_admin: bool = False

    def extras(self) -> dict[str, Any]:
        extras: dict[str, Any] = {"is_super_admin": self.is_super_admin}
        if self.session_id is not None:
            extras["session_id"] = self.session_id
        if self.api_key_id is not None:
            extras["api_key_id"] = self.api_key_id
        return extras


class Authentication:
    """Resolves credentials.

    Rules:
    - a session token finds its session by digest; a session that is unknown, revoked, past
      its 30-day absolute or 14-day idle lifetime, or whose user is gone is 401; a live one has
      its ``last_seen_at`` moved at most once a minute;
    - a session's workspace is the one the ``X-Workspace-Id`` header names when given — the
      user must be a member (otherwise, and for what is no UUID, 404 ``workspace_not_found``) —
      else the session's current workspace while the user is still a member, else the user's
      first workspace, else none;
    - an API key ``sk_<key id>_<secret>`` finds its row by key id; an unknown or revoked key or
      a wrong secret (compared in constant time) is 401. It acts as its creator in its own
      workspace with the creator's CURRENT role there: a key whose creator left the workspace
      is 401;
    - the actor carries the user id, the workspace role and the platform role.
    """

    def __init__(
        self,
        directory: CredentialDirectory,
        tokens: SecretTokens,
        clock: Clock,
        activity: CredentialActivity,
    ) -> None:
        self._directory = directory
        self._tokens = tokens
        self._clock = clock
        self._activity = activity

    async def with_session(self, token: str, workspace_header: str | None) -> Authenticated:
        token = token.strip()
        if not 0 < len(token) <= MAX_SESSION_TOKEN_LENGTH:
            raise Unauthenticated("The session is not valid; sign in again.")
        holder = await self._directory.session_holder(self._tokens.digest(token))
        now = self._clock.now()
        if holder is None or holder.record.session.state(now) is not SessionState.ACTIVE:
            raise Unauthenticated("The session has ended; sign in again.")
        record = holder.record
        session = record.session
        user = holder.user
        if user is None:
            raise Unauthenticated("The session has ended; sign in again.")
        memberships = holder.workspaces
        membership = _request_workspace(memberships, workspace_header, session.current_workspace_id)
        if session.needs_touch(now):
            await self._activity.session_seen(session.id, now)
        return Authenticated(
            actor=Actor(
                ActorKind.USER,
                id=user.id,
                workspace_role=None if membership is None else membership.role.value,
                platform_role=user.platform_role.value,
            ),
            workspace_id=None if membership is None else membership.workspace_id,
            session_id=session.id,
            csrf_hash=record.csrf_hash,
            is_super_admin=user.is_super_admin,
        )

    async def with_api_key(self, presented: str) -> Authenticated:
        parsed = parse_key(presented)
        if parsed is None:
            raise Unauthenticated("The API key is not valid.")
        key_id, secret = parsed
        holder = await self._directory.key_holder(key_id)
        if (
            holder is None
            or holder.key.revoked_at is not None
            or not hmac.compare_digest(
                holder.key.secret_hash.encode(), self._tokens.digest(secret).encode()
            )
        ):
            raise Unauthenticated("The API key is not valid.")
        key, role, user = holder.key, holder.role, holder.user
        if role is None or user is None:
            raise Unauthenticated("The API key's creator is no longer a member of its workspace.")
        now = self._clock.now()
        if key.last_used_at is None or now - key.last_used_at >= lifetimes.SESSION_TOUCH_INTERVAL:
            await self._activity.api_key_used(key.workspace_id, key.id, now)
        return Authenticated(
            actor=Actor(
                ActorKind.API_KEY,
                id=user.id,
                workspace_role=role.value,
                platform_role=user.platform_role.value,
            ),
            workspace_id=key.workspace_id,
            api_key_id=key.id,
            is_super_admin=user.is_super_admin,
        )

    def check_csrf(self, who: Authenticated, presented: str | None) -> None:
        """Cookie-authenticated unsafe requests must echo the CSRF token of sign-in."""
        if who.csrf_hash is None:
            return  # not a session: nothing a browser sends on its own
        if not presented or len(presented) > MAX_SESSION_TOKEN_LENGTH:
            raise CsrfFailed("Send the X-CSRF-Token header with the token from sign-in.")
        if not hmac.compare_digest(
            who.csrf_hash.encode(), self._tokens.digest(presented.strip()).encode()
        ):
            raise CsrfFailed("The X-CSRF-Token header does not match this session.")


def _request_workspace(
    memberships: list[WorkspaceMembership],
    header: str | None,
    current: WorkspaceId | None,
) -> WorkspaceMembership | None:
    if header is not None:
        try:
            wanted = UUID(header.strip())
        except ValueError:
            raise WorkspaceNotFound() from None
        found = next((m for m in memberships if m.workspace_id == wanted), None)
        if found is None:
            raise WorkspaceNotFound()
        return found
    found = next((m for m in memberships if m.workspace_id == current), None)
    return found or (memberships[0] if memberships else None)
