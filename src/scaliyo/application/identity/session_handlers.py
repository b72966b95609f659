"""Handlers of sign-in and sessions: log in, log out, list and revoke sessions. Each docstring
lists the rules it enforces."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from scaliyo.application.bus import ActorKind, Context
from scaliyo.application.identity.actors import require_user, session_id_of
from scaliyo.application.identity.attempts import (
    account_bucket,
    client_ip_of,
    longest_wait,
    user_agent_of,
)
from scaliyo.application.identity.auth import (
    ListSessions,
    LogIn,
    LoginResult,
    LogOut,
    RevokedSessions,
    RevokeOtherSessions,
    RevokeSession,
    SessionView,
)
from scaliyo.application.identity.auth_ports import AccountAudit, AuthServices, AuthUnitOfWork
from scaliyo.application.identity.ports import UserRecord
from scaliyo.application.identity.services import IdentityServices
from scaliyo.application.identity.workspace_admin import UserView
from scaliyo.application.identity.workspace_admin_handlers import SessionRequired
from scaliyo.application.shared.audit import AuditEntry, actor_label, audit_entry
from scaliyo.application.shared.pagination import Page, check_limit, decode_cursor, page_of
from scaliyo.application.shared.ports import Clock, IdFactory
from scaliyo.application.shared.time import rfc3339
from scaliyo.domain.identity import lifetimes
from scaliyo.domain.identity.accounts import EmailNotConfirmed, InvalidCredentials, SessionNotFound
from scaliyo.domain.identity.emails import mask_email, normalize_email
from scaliyo.domain.identity.passwords import MAX_LENGTH
from scaliyo.domain.identity.sessions import Session, absolute_expiry
from scaliyo.domain.shared.errors import RateLimited
from scaliyo.domain.shared.ids import UserId, WorkspaceId

log = logging.getLogger("scaliyo.auth")


def _user_view(user: UserRecord) -> UserView:
    return UserView(
        id=str(user.id),
        email=user.email,
        platform_role=user.platform_role.value,
        is_super_admin=user.is_super_admin,
    )


class LogInHandler:
    """Sign in with an address and a password: a new server-side session.

    Rules:
    - the address is normalised (422 ``invalid_email`` for what is no address);
    - while the failed sign-ins of the client IP (``login_failures_per_ip``) or of the address
      (``login_failures_per_account``) fill their ``login_window``: 429 ``rate_limited`` with
      the seconds to wait, before any password is checked;
    - an unknown address and a wrong password are one answer, 401 ``invalid_credentials``, in
      the same time (an unknown address spends a dummy verification); the failure counts in
      both windows and is audited (``auth.login_failed``);
    - the right password of an unconfirmed address: 403 ``email_not_confirmed``;
    - success: a session row holding digests of a random session token (for the cookie) and a
      CSRF token (for the body), 30 days absolute and 14 days idle; it starts in the user's last
      workspace while they are still a member there, else in their first, else in none; a hash
      made with older parameters is rehashed; the address's failure count is cleared; audited
      (``auth.login``).
    """

    def __init__(
        self, clock: Clock, ids: IdFactory, services: IdentityServices, auth: AuthServices
    ) -> None:
        self._clock = clock
        self._ids = ids
        self._services = services
        self._auth = auth

    async def __call__(self, message: LogIn, uow: AuthUnitOfWork, context: Context) -> Any:
        services, limiter, limits = self._services, self._auth.limiter, self._auth.limits
        email = normalize_email(message.email)
        ip_bucket = f"login:ip:{client_ip_of(context)}"
        login_bucket = account_bucket("login", email, services.tokens)
        wait = longest_wait(
            await limiter.retry_after(ip_bucket, limits.login_failures_per_ip, limits.login_window),
            await limiter.retry_after(
                login_bucket, limits.login_failures_per_account, limits.login_window
            ),
        )
        if wait is not None:
            log.info("sign-in throttled", extra={"email": mask_email(email)})
            raise RateLimited(wait)

        user = await self._auth.directory.account_by_email(email)
        verified = False
        if user is None or user.password_hash is None or len(message.password) > MAX_LENGTH:
            services.hasher.dummy_verify()
        else:
            verified = services.hasher.verify(user.password_hash, message.password)
        if user is None or not verified:
            await limiter.record(ip_bucket)
            await limiter.record(login_bucket)
            await self._auth.audit.record(
                AuditEntry(
                    workspace_id=None,
                    actor=actor_label(context.actor),
                    action="auth.login_failed",
                    target=None if user is None else f"user:{user.id}",
                    ip=context.extras.get("ip"),
                    details={"email": mask_email(email)},
                )
            )
            raise InvalidCredentials()
        if user.email_confirmed_at is None:
            raise EmailNotConfirmed(
                "Confirm your email address with the link we sent you, then sign in."
            )

        assert user.password_hash is not None
        if services.hasher.needs_rehash(user.password_hash):
            await uow.users.set_password_hash(user.id, services.hasher.hash(message.password))
        workspace_id = await self._landing_workspace(user)
        now = self._clock.now()
        session_token, csrf_token = services.tokens.new_token(), services.tokens.new_token()
        session = Session(
            id=self._ids.new(),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=absolute_expiry(now),
            current_workspace_id=workspace_id,
            user_agent=user_agent_of(context),
            ip=context.extras.get("ip"),
        )
        await uow.sessions.add(
            session,
            token_hash=services.tokens.digest(session_token),
            csrf_hash=services.tokens.digest(csrf_token),
        )
        await uow.commit()
        await limiter.clear(login_bucket)
        await self._auth.audit.record(
            AuditEntry(
                workspace_id=workspace_id,
                actor=f"user:{user.id}",
                action="auth.login",
                target=f"session:{session.id}",
                ip=context.extras.get("ip"),
                details={"user_agent": session.user_agent} if session.user_agent else {},
            )
        )
        return LoginResult(
            session_token=session_token,
            csrf_token=csrf_token,
            user=_user_view(user),
            current_workspace_id=None if workspace_id is None else str(workspace_id),
        )

    async def _landing_workspace(self, user: UserRecord) -> WorkspaceId | None:
        memberships = await self._auth.directory.workspaces_of(user.id)
        for membership in memberships:
            if membership.workspace_id == user.last_workspace_id:
                return membership.workspace_id
        return memberships[0].workspace_id if memberships else None


def _require_session(context: Context) -> tuple[UserId, UUID]:
    user_id = require_user(context)
    session_id = session_id_of(context)
    if context.actor.kind is not ActorKind.USER or session_id is None:
        raise SessionRequired("Sessions are managed from a signed-in session, not an API key.")
    return user_id, session_id


class LogOutHandler:
    """Sign out: the request's session is revoked.

    Rules: a signed-in session is required (an API key gets 403 ``session_required``); the
    session stops working at once (the next request with its cookie is 401); audited
    (``auth.logout``).
    """

    def __init__(self, clock: Clock, audit: AccountAudit) -> None:
        self._clock = clock
        self._audit = audit

    async def __call__(self, message: LogOut, uow: AuthUnitOfWork, context: Context) -> None:
        user_id, session_id = _require_session(context)
        await uow.sessions.revoke(session_id, user_id, self._clock.now())
        await uow.commit()
        await self._audit.record(
            audit_entry(
                context,
                "auth.logout",
                workspace_id=context.workspace_id,
                target=f"session:{session_id}",
            )
        )


class ListSessionsHandler:
    """The signed-in user's active sessions, newest first.

    Rules: a signed-in session is required (403 ``session_required`` for an API key: sessions
    are personal); only the user's own sessions that are neither revoked nor expired (idle or
    absolute) are listed; the request's own session is marked ``current``.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self, message: ListSessions, uow: AuthUnitOfWork, context: Context
    ) -> Page[SessionView]:
        user_id, current = _require_session(context)
        limit = check_limit(message.limit)
        rows = await uow.sessions.list_active(
            user_id, self._clock.now(), limit=limit + 1, before=decode_cursor(message.cursor)
        )
        page = page_of(rows, limit, lambda session: session.id)
        return Page(
            items=[_session_view(session, current) for session in page.items],
            next_cursor=page.next_cursor,
        )


def _session_view(session: Session, current: UUID) -> SessionView:
    return SessionView(
        id=str(session.id),
        created_at=rfc3339(session.created_at),
        last_seen_at=rfc3339(session.last_seen_at),
        expires_at=rfc3339(min(session.expires_at, session.last_seen_at + lifetimes.SESSION_IDLE)),
        current=session.id == current,
        user_agent=session.user_agent,
        ip=session.ip,
    )


class RevokeSessionHandler:
    """Revoke one of the signed-in user's sessions (the current one included).

    Rules: a signed-in session is required (403 ``session_required``); an id that is not one of
    the user's unrevoked sessions — another user's, a revoked one, or no UUID — is 404
    ``session_not_found``; the revoked session's next request is 401; audited
    (``auth.session_revoked``).
    """

    def __init__(self, clock: Clock, audit: AccountAudit) -> None:
        self._clock = clock
        self._audit = audit

    async def __call__(self, message: RevokeSession, uow: AuthUnitOfWork, context: Context) -> None:
        user_id, _ = _require_session(context)
        try:
            target = UUID(message.session_id)
        except ValueError:
            raise SessionNotFound() from None
        if not await uow.sessions.revoke(target, user_id, self._clock.now()):
            raise SessionNotFound()
        await uow.commit()
        await self._audit.record(
            audit_entry(
                context,
                "auth.session_revoked",
                workspace_id=context.workspace_id,
                target=f"session:{target}",
            )
        )


class RevokeOtherSessionsHandler:
    """Sign out everywhere else: every session of the user but the request's is revoked.

    Rules: a signed-in session is required (403 ``session_required``); answers how many were
    revoked; audited (``auth.sessions_revoked``).
    """

    def __init__(self, clock: Clock, audit: AccountAudit) -> None:
        self._clock = clock
        self._audit = audit

    async def __call__(
        self, message: RevokeOtherSessions, uow: AuthUnitOfWork, context: Context
    ) -> RevokedSessions:
        user_id, current = _require_session(context)
        revoked = await uow.sessions.revoke_all(user_id, self._clock.now(), except_id=current)
        await uow.commit()
        await self._audit.record(
            audit_entry(
                context,
                "auth.sessions_revoked",
                workspace_id=context.workspace_id,
                target=f"user:{user_id}",
                details={"revoked": revoked},
            )
        )
        return RevokedSessions(revoked=revoked)
