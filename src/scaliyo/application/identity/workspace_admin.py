"""Commands, queries and views of workspace administration.

``/me`` and the workspace switch, the workspace's settings, members and roles, invites, API keys
and onboarding. Ids arrive as strings: a malformed id is "not found", like another workspace's.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from scaliyo.application.bus import Command, Query
from scaliyo.application.shared.pagination import DEFAULT_LIMIT
from scaliyo.domain.identity.onboarding import CompanyStep, FinishStep, GoalStep, RoleStep

# --- /me ------------------------------------------------------------------------------------


class GetMe(Query, frozen=True, kw_only=True):
    requires_workspace: ClassVar[bool] = False


class SwitchWorkspace(Command, frozen=True, kw_only=True):
    requires_workspace: ClassVar[bool] = False
    workspace_id: str


class UserView(msgspec.Struct, kw_only=True):
    id: str
    email: str
    platform_role: str
    is_super_admin: bool


class MembershipView(msgspec.Struct, kw_only=True):
    id: str
    name: str
    role: str


class OnboardingView(msgspec.Struct, kw_only=True, omit_defaults=True):
    current_step: int
    completed: bool
    role: RoleStep | None = None
    company: CompanyStep | None = None
    goal: GoalStep | None = None


class MeView(msgspec.Struct, kw_only=True, omit_defaults=True):
    user: UserView
    workspaces: list[MembershipView]
    current_workspace: MembershipView | None = None
    onboarding: OnboardingView | None = None


# --- the workspace ----------------------------------------------------------------------------


class UpdateWorkspace(Command, frozen=True, kw_only=True):
    name: str | msgspec.UnsetType = msgspec.UNSET


# --- members --------------------------------------------------------------------------------


class ListMembers(Query, frozen=True, kw_only=True):
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


class ChangeMemberRole(Command, frozen=True, kw_only=True):
    user_id: str
    role: str


class RemoveMember(Command, frozen=True, kw_only=True):
    user_id: str


class MemberView(msgspec.Struct, kw_only=True):
    user_id: str
    email: str
    role: str
    joined_at: str


# --- invites --------------------------------------------------------------------------------


class CreateInvite(Command, frozen=True, kw_only=True):
    email: str
    role: str


class ListInvites(Query, frozen=True, kw_only=True):
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


class RevokeInvite(Command, frozen=True, kw_only=True):
    invite_id: str


class AcceptInvite(Command, frozen=True, kw_only=True):
    """Accept an emailed invite. The workspace comes from the token, not from the request."""

    requires_workspace: ClassVar[bool] = False
    token: str
    password: str | None = None


class InviteView(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    email: str
    role: str
    status: str
    created_at: str
    expires_at: str
    invited_by: str | None = None


class AcceptedInviteView(msgspec.Struct, kw_only=True):
    user_id: str
    workspace: MembershipView
    account_created: bool


# --- API keys -------------------------------------------------------------------------------


class CreateApiKey(Command, frozen=True, kw_only=True):
    name: str


class ListApiKeys(Query, frozen=True, kw_only=True):
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


class RevokeApiKey(Command, frozen=True, kw_only=True):
    api_key_id: str


class CreatedApiKeyView(msgspec.Struct, kw_only=True):
    id: str
    name: str
    key: str  # shown once, here; only a hash of its secret is kept
    created_at: str


class ApiKeyView(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None = None


# --- onboarding -----------------------------------------------------------------------------


class GetOnboarding(Query, frozen=True, kw_only=True):
    pass


class SaveOnboardingStep(Command, frozen=True, kw_only=True):
    """Save one step; ``data`` is the step's Struct (decoded and checked by the caller)."""

    step: int
    data: RoleStep | CompanyStep | GoalStep | FinishStep
