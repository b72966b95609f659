"""Who may read and change billing.

Rules: members of every role read the plan, usage and credits (``billing.read``, viewer and
up); plans and credits are changed here only by operators (the CLI) and the scheduler — owners
change plans through Stripe checkout (the payments issue).
"""

from __future__ import annotations

from scaliyo.application.bus import ActorKind, Context
from scaliyo.domain.identity.roles import Permission, WorkspaceRole, require
from scaliyo.domain.shared.errors import PermissionDenied

_USERS = frozenset({ActorKind.USER, ActorKind.API_KEY})


class OperatorsOnly(PermissionDenied):
    code = "operators_only"
    title = "Only an operator may do this"


def require_billing_read(context: Context) -> None:
    if context.actor.kind not in _USERS:
        return
    raw = context.actor.workspace_role
    try:
        role = WorkspaceRole(raw) if raw is not None else None
    except ValueError:
        role = None
    require(role, Permission.BILLING_READ)


def require_operator(context: Context) -> None:
    if context.actor.kind is not ActorKind.OPERATOR:
        raise OperatorsOnly("Plans and credits are changed by operators (scaliyo CLI).")


def require_platform(context: Context) -> None:
    """The scheduler (system) or an operator."""
    if context.actor.kind not in {ActorKind.SYSTEM, ActorKind.OPERATOR}:
        raise OperatorsOnly("This runs on the scheduler.")
