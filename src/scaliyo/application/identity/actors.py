"""Who acts, read from the bus ``Context``.

A session acts as its user; an API key acts as its creator (``actor.id`` is the user id in both
cases) in the key's workspace. ``actor.workspace_role`` is the user's role in the request's
workspace, looked up when the request was authenticated.
"""

from __future__ import annotations

from uuid import UUID

from scaliyo.application.bus import ActorKind, Context
from scaliyo.domain.identity.roles import Permission, WorkspaceRole, require
from scaliyo.domain.shared.errors import DomainError, ErrorKind
from scaliyo.domain.shared.ids import UserId

USER_ACTORS = frozenset({ActorKind.USER, ActorKind.API_KEY})


class UserRequired(DomainError):
    code = "unauthenticated"
    kind = ErrorKind.UNAUTHENTICATED
    title = "Authentication is required"


def user_id_of(context: Context) -> UserId | None:
    actor = context.actor
    if actor.kind in USER_ACTORS and actor.id is not None:
        return UserId(actor.id)
    return None


def require_user(context: Context) -> UserId:
    user_id = user_id_of(context)
    if user_id is None:
        raise UserRequired("This request acts as a user: sign in or send an API key.")
    return user_id


def role_of(context: Context) -> WorkspaceRole | None:
    raw = context.actor.workspace_role
    if raw is None:
        return None
    try:
        return WorkspaceRole(raw)
    except ValueError:
        return None


def require_permission(context: Context, permission: Permission) -> WorkspaceRole:
    role = role_of(context)
    require(role, permission)
    assert role is not None
    return role


def session_id_of(context: Context) -> UUID | None:
    raw = context.extras.get("session_id")
    if raw is None:
        return None
    return raw if isinstance(raw, UUID) else UUID(str(raw))
