"""Ports of the identity context.

Tenant-owned rows (memberships, invites, API keys, onboarding) are reached through the unit of
work, scoped to the request's workspace by row-level security. Users, sessions and auth tokens
belong to no workspace. Look-ups that must cross workspaces before a tenant is known (a user's
workspaces, an API key by its key id, an invite by its token) go through ``AccountDirectory``,
whose adapter is a named platform path on the ``scaliyo_system`` role.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from scaliyo.application.shared.audit import AuditTrail
from scaliyo.application.shared.ports import BaseUnitOfWork
from scaliyo.domain.identity.roles import PlatformRole, WorkspaceRole
from scaliyo.domain.identity.sessions import Session
from scaliyo.domain.identity.workspace import Workspace
from scaliyo.domain.shared.ids import UserId, WorkspaceId


class WorkspaceRepository(Protocol):
    async def add(self, workspace: Workspace) -> None: ...

    async def get(self, workspace_id: WorkspaceId) -> Workspace | None: ...


class IdentityUnitOfWork(BaseUnitOfWork, Protocol):
    workspaces: WorkspaceRepository
    audit: AuditTrail


class UserRecord(msgspec.Struct, kw_only=True):
    id: UserId
    email: str
    password_hash: str | None
    platform_role: PlatformRole
    is_super_admin: bool
    email_confirmed_at: datetime | None
    last_workspace_id: WorkspaceId | None
    created_at: datetime


class MembershipRecord(msgspec.Struct, kw_only=True):
    workspace_id: WorkspaceId
    user_id: UserId
    role: WorkspaceRole
    created_at: datetime
    email: str | None = None


class WorkspaceMembership(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: WorkspaceId
    name: str
    role: WorkspaceRole


class ApiKeyRecord(msgspec.Struct, kw_only=True):
    id: UUID
    workspace_id: WorkspaceId
    key_id: str
    secret_hash: str
    name: str
    created_by: UserId
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class InviteRecord(msgspec.Struct, kw_only=True):
    id: UUID
    workspace_id: WorkspaceId
    email: str
    role: WorkspaceRole
    invited_by: UserId | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None


class SessionRecord(msgspec.Struct, kw_only=True):
    session: Session
    csrf_hash: str


class KeyHolder(msgspec.Struct, kw_only=True):
    """An API key with what authenticating it needs, read at once: its creator's account and
    role in the key's workspace (``None`` when gone or no longer a member)."""

    key: ApiKeyRecord
    user: UserRecord | None
    role: WorkspaceRole | None


class SessionHolder(msgspec.Struct, kw_only=True):
    """A session with what authenticating it needs, read at once: its user's account
    (``None`` when gone) and workspaces."""

    record: SessionRecord
    user: UserRecord | None
    workspaces: list[WorkspaceMembership]


class AccountDirectory(Protocol):
    """Cross-workspace look-ups for authentication (a platform path: scaliyo_system)."""

    async def workspaces_of(self, user_id: UserId) -> list[WorkspaceMembership]: ...

    async def role_in(self, user_id: UserId, workspace_id: WorkspaceId) -> WorkspaceRole | None: ...

    async def invite_by_token_hash(self, token_hash: str) -> InviteRecord | None: ...
