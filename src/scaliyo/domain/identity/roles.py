"""Workspace roles, platform roles and the authorisation policy.

Workspace roles are ranked owner > admin > member > viewer. Each permission names the lowest role
that holds it, so the policy is total (every role × permission has an answer) and monotone (a
higher role can do everything a lower one can) by construction; a property test checks both.
"""

from __future__ import annotations

from enum import StrEnum

from scaliyo.domain.shared.errors import PermissionDenied


class WorkspaceRole(StrEnum):
    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: WorkspaceRole) -> bool:
        return self.rank >= other.rank


_RANK = {
    WorkspaceRole.VIEWER: 0,
    WorkspaceRole.MEMBER: 1,
    WorkspaceRole.ADMIN: 2,
    WorkspaceRole.OWNER: 3,
}


class PlatformRole(StrEnum):
    CLIENT = "CLIENT"
    ADMIN = "ADMIN"
    GUEST = "GUEST"  # reserved: read-only


class Permission(StrEnum):
    WORKSPACE_READ = "workspace.read"
    WORKSPACE_UPDATE = "workspace.update"
    WORKSPACE_DELETE = "workspace.delete"
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"
    MEMBER_ROLES_CHANGE = "members.roles.change"
    INVITES_MANAGE = "invites.manage"
    API_KEYS_MANAGE = "api_keys.manage"
    SENDERS_MANAGE = "senders.manage"
    SETTINGS_MANAGE = "settings.manage"
    BILLING_MANAGE = "billing.manage"
    BILLING_READ = "billing.read"
    ONBOARDING_UPDATE = "onboarding.update"
    JOBS_READ = "jobs.read"
    LEADS_READ = "leads.read"
    LEADS_WRITE = "leads.write"
    CONTENT_READ = "content.read"
    CONTENT_WRITE = "content.write"
    SENDING_USE = "sending.use"
    ANALYTICS_READ = "analytics.read"


MINIMUM_ROLE: dict[Permission, WorkspaceRole] = {
    Permission.WORKSPACE_READ: WorkspaceRole.VIEWER,
    Permission.MEMBERS_READ: WorkspaceRole.VIEWER,
    Permission.JOBS_READ: WorkspaceRole.VIEWER,
    Permission.LEADS_READ: WorkspaceRole.VIEWER,
    Permission.CONTENT_READ: WorkspaceRole.VIEWER,
    Permission.ANALYTICS_READ: WorkspaceRole.VIEWER,
    Permission.BILLING_READ: WorkspaceRole.VIEWER,
    Permission.LEADS_WRITE: WorkspaceRole.MEMBER,
    Permission.CONTENT_WRITE: WorkspaceRole.MEMBER,
    Permission.SENDING_USE: WorkspaceRole.MEMBER,
    Permission.WORKSPACE_UPDATE: WorkspaceRole.ADMIN,
    Permission.MEMBERS_MANAGE: WorkspaceRole.ADMIN,
    Permission.INVITES_MANAGE: WorkspaceRole.ADMIN,
    Permission.API_KEYS_MANAGE: WorkspaceRole.ADMIN,
    Permission.SENDERS_MANAGE: WorkspaceRole.ADMIN,
    Permission.SETTINGS_MANAGE: WorkspaceRole.ADMIN,
    Permission.ONBOARDING_UPDATE: WorkspaceRole.ADMIN,
    Permission.MEMBER_ROLES_CHANGE: WorkspaceRole.OWNER,
    Permission.BILLING_MANAGE: WorkspaceRole.OWNER,
    Permission.WORKSPACE_DELETE: WorkspaceRole.OWNER,
}


def can(role: WorkspaceRole, permission: Permission) -> bool:
    return role.at_least(MINIMUM_ROLE[permission])


class RoleTooLow(PermissionDenied):
    code = "insufficient_role"
    title = "Your role in this workspace does not allow this"


def require(role: WorkspaceRole | None, permission: Permission) -> None:
    if role is None or not can(role, permission):
        raise RoleTooLow(
            f"This needs the {MINIMUM_ROLE[permission].value} role or higher ({permission.value})."
        )
