"""Ports of accounts and authentication: users' credentials, sessions, single-use tokens,
attempt limits and the account audit.

Users, sessions and auth tokens belong to no workspace: a unit of work with no tenant reaches
them. Attempt counts and account audit entries are written by platform paths in transactions of
their own, so a refused request (whose unit of work rolls back) still leaves its trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID

import msgspec

from scaliyo.application.identity.authentication import CredentialDirectory
from scaliyo.application.identity.ports import IdentityUnitOfWork, UserRecord
from scaliyo.application.identity.workspace_ports import (
    MemberRepository,
    SessionPreferences,
    UserAccounts,
)
from scaliyo.application.shared.audit import AuditEntry
from scaliyo.domain.identity.sessions import Session
from scaliyo.domain.shared.ids import UserId


class TokenKind(StrEnum):
    EMAIL_CONFIRMATION = "email_confirmation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a token kind, not a password


class AuthTokenRecord(msgspec.Struct, kw_only=True):
    id: UUID
    kind: TokenKind
    user_id: UserId
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class AuthTokenRepository(Protocol):
    async def add(self, token: AuthTokenRecord, *, token_hash: str) -> None: ...

    async def find_usable(
        self, kind: TokenKind, token_hash: str, now: datetime
    ) -> AuthTokenRecord | None:
        """The unused, unexpired token of this kind with this hash, if any (nothing changes)."""
        ...

    async def use(self, kind: TokenKind, token_hash: str, now: datetime) -> UserId | None:
        """Mark a usable token used in one conditional statement: its user, or None when the
        token is unknown, expired, used already, or of another kind."""
        ...

    async def retire(self, user_id: UserId, kind: TokenKind, now: datetime) -> int:
        """Mark the user's unused tokens of ``kind`` used (a newer one supersedes them)."""
        ...


class UserCredentials(UserAccounts, Protocol):
    async def add_if_absent(self, user: UserRecord) -> bool:
        """Insert the user unless the address is taken (then nothing changes): whether it was."""
        ...

    async def confirm_email(self, user_id: UserId, now: datetime) -> None:
        """Set ``email_confirmed_at`` unless it is set already."""
        ...

    async def set_password_hash(self, user_id: UserId, password_hash: str) -> None: ...


class SessionStore(SessionPreferences, Protocol):
    async def add(self, session: Session, *, token_hash: str, csrf_hash: str) -> None: ...

    async def list_active(
        self, user_id: UserId, now: datetime, *, limit: int, before: UUID | None
    ) -> list[Session]:
        """The user's sessions that are neither revoked nor expired (idle or absolute), newest
        first, ids below ``before``."""
        ...

    async def revoke(self, session_id: UUID, user_id: UserId, now: datetime) -> bool:
        """Revoke one unrevoked session of this user; False when there is none (another
        user's session is never touched)."""
        ...

    async def revoke_all(
        self, user_id: UserId, now: datetime, *, except_id: UUID | None = None
    ) -> int:
        """Revoke every unrevoked session of the user but ``except_id``; how many."""
        ...


class AuthUnitOfWork(IdentityUnitOfWork, Protocol):
    users: UserCredentials
    sessions: SessionStore
    auth_tokens: AuthTokenRepository
    memberships: MemberRepository


class AttemptLimiter(Protocol):
    """Sliding-window attempt counts that hold across processes.

    A bucket names what is counted (``login:ip:203.0.113.9``); every call is atomic per bucket.
    """

    async def retry_after(self, bucket: str, limit: int, window: timedelta) -> int | None:
        """Seconds until one more attempt fits when ``limit`` attempts fill the window, else
        None. Records nothing."""
        ...

    async def record(self, bucket: str) -> None: ...

    async def hit(self, bucket: str, limit: int, window: timedelta) -> int | None:
        """Record an attempt if one fits (None); otherwise the seconds until one does."""
        ...

    async def clear(self, bucket: str) -> None: ...


class AccountAudit(Protocol):
    """Audit entries of account events (sign-in, sign-out, resets), each written at once in a
    transaction of its own: a refused sign-in must leave its entry although its work rolls back."""

    async def record(self, entry: AuditEntry) -> None: ...


class AuthLimits(msgspec.Struct, frozen=True, kw_only=True):
    """How many attempts fit in which window (per account buckets key on a digest of the
    address, so they say nothing about whether an account exists)."""

    login_failures_per_account: int = 10
    login_failures_per_ip: int = 50
    login_window: timedelta = timedelta(minutes=15)
    signups_per_ip: int = 10
    signup_window: timedelta = timedelta(hours=1)
    mails_per_account: int = 5  # password resets and confirmation resends, each
    mails_per_ip: int = 20
    mail_window: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class AuthServices:
    """What the authentication handlers need beyond ``IdentityServices``."""

    directory: CredentialDirectory
    limiter: AttemptLimiter
    audit: AccountAudit
    limits: AuthLimits = field(default_factory=AuthLimits)
