"""Commands, queries and views of accounts and authentication.

Sign-up, email confirmation, sign-in and sign-out, the user's sessions, password resets, and
the operator's ``CreateUser``. None acts within a workspace chosen by the request: sign-up makes
one, the others concern the account.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from scaliyo.application.bus import Command, Query
from scaliyo.application.identity.workspace_admin import UserView
from scaliyo.application.shared.pagination import DEFAULT_LIMIT


class _AccountMessage(Command, frozen=True, kw_only=True):
    requires_workspace: ClassVar[bool] = False


class SignUp(_AccountMessage, frozen=True, kw_only=True):
    email: str
    password: str


class ConfirmEmail(_AccountMessage, frozen=True, kw_only=True):
    token: str


class ResendConfirmation(_AccountMessage, frozen=True, kw_only=True):
    email: str


class LogIn(_AccountMessage, frozen=True, kw_only=True):
    email: str
    password: str


class LogOut(_AccountMessage, frozen=True, kw_only=True):
    pass


class ListSessions(Query, frozen=True, kw_only=True):
    requires_workspace: ClassVar[bool] = False
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


class RevokeSession(_AccountMessage, frozen=True, kw_only=True):
    session_id: str


class RevokeOtherSessions(_AccountMessage, frozen=True, kw_only=True):
    pass


class RequestPasswordReset(_AccountMessage, frozen=True, kw_only=True):
    email: str


class ResetPassword(_AccountMessage, frozen=True, kw_only=True):
    token: str
    password: str


class CreateUser(_AccountMessage, frozen=True, kw_only=True):
    """Operators only: a confirmed account with a workspace it owns."""

    email: str
    password: str
    platform_role: str = "CLIENT"
    is_super_admin: bool = False


# --- views ------------------------------------------------------------------------------------


class AccountStatus(msgspec.Struct, kw_only=True):
    """The answer of requests that must not reveal whether an account exists."""

    status: str


class LoginResult(msgspec.Struct, kw_only=True):
    """What a sign-in yields. ``session_token`` goes into the cookie, never into a body."""

    session_token: str
    csrf_token: str
    user: UserView
    current_workspace_id: str | None = None


class SessionView(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    created_at: str
    last_seen_at: str
    expires_at: str
    current: bool
    user_agent: str | None = None
    ip: str | None = None


class RevokedSessions(msgspec.Struct, kw_only=True):
    revoked: int


class CreatedUser(msgspec.Struct, kw_only=True):
    user_id: str
    workspace_id: str
