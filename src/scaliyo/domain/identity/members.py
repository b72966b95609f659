"""Member management rules: role changes, removals, invites.

- Only an owner changes roles (``Permission.MEMBER_ROLES_CHANGE``); the last owner cannot be
  demoted.
- Admins and owners remove members; an admin cannot remove an owner; the last owner cannot be
  removed; anyone may remove themselves (leave), except the last owner.
- Invites grant admin, member or viewer, never owner (an owner promotes a member afterwards).
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from scaliyo.domain.identity.roles import Permission, RoleTooLow, WorkspaceRole, require
from scaliyo.domain.shared.errors import Conflict, FieldError, NotFound, ValidationFailed


class LastOwner(Conflict):
    code = "last_owner"
    title = "A workspace keeps at least one owner"


class MemberNotFound(NotFound):
    code = "member_not_found"
    title = "No such member in this workspace"


class AlreadyMember(Conflict):
    code = "already_member"
    title = "This person is already a member of the workspace"


class InviteRole(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


def check_role_change(
    *, actor_role: WorkspaceRole | None, current: WorkspaceRole, new: WorkspaceRole, owners: int
) -> None:
    require(actor_role, Permission.MEMBER_ROLES_CHANGE)
    if current is WorkspaceRole.OWNER and new is not WorkspaceRole.OWNER and owners <= 1:
        raise LastOwner("Make another member an owner before changing this owner's role.")


def check_removal(
    *,
    actor_id: UUID | None,
    actor_role: WorkspaceRole | None,
    target_id: UUID,
    target_role: WorkspaceRole,
    owners: int,
) -> None:
    leaving = actor_id is not None and actor_id == target_id
    if not leaving:
        require(actor_role, Permission.MEMBERS_MANAGE)
        if target_role is WorkspaceRole.OWNER and actor_role is not WorkspaceRole.OWNER:
            raise RoleTooLow("Only an owner can remove an owner.")
    if target_role is WorkspaceRole.OWNER and owners <= 1:
        raise LastOwner(
            "The last owner cannot leave or be removed; make another member an owner first."
        )


def invite_role(raw: str) -> WorkspaceRole:
    try:
        return WorkspaceRole(InviteRole(raw).value)
    except ValueError:
        raise ValidationFailed(
            "An invite grants admin, member or viewer.",
            errors=[FieldError("role", "invalid_choice", "One of admin, member, viewer.")],
        ) from None
