"""Ports of workspace administration: members, invites, API keys, onboarding, seats.

Every repository here hangs off the tenant unit of work, so it sees the rows of the unit of
work's workspace only (row-level security); none takes a workspace id to read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from scaliyo.application.identity.ports import (
    ApiKeyRecord,
    IdentityUnitOfWork,
    InviteRecord,
    MembershipRecord,
    UserRecord,
    WorkspaceRepository,
)
from scaliyo.domain.identity.onboarding import Onboarding
from scaliyo.domain.identity.roles import WorkspaceRole
from scaliyo.domain.identity.seats import plan_seats
from scaliyo.domain.identity.workspace import Workspace
from scaliyo.domain.shared.ids import UserId, WorkspaceId


class AdminWorkspaces(WorkspaceRepository, Protocol):
    async def lock(self, workspace_id: WorkspaceId) -> Workspace | None:
        """Read the workspace row and hold a row lock on it until the transaction ends.

        Seat checks and last-owner checks run under this lock, so two concurrent requests of
        one workspace cannot both pass a limit that only one of them fits in.
        """
        ...

    async def rename(self, workspace_id: WorkspaceId, name: str) -> None: ...


class MemberRepository(Protocol):
    async def add(self, membership: MembershipRecord) -> None: ...

    async def get(self, user_id: UserId) -> MembershipRecord | None:
        """The member (with email) of the unit of work's workspace, else None."""
        ...

    async def list(self, *, limit: int, after: UUID | None) -> list[MembershipRecord]:
        """Members with their emails, by user id ascending, user ids above ``after``."""
        ...

    async def count(self) -> int: ...

    async def count_owners(self) -> int: ...

    async def change_role(self, user_id: UserId, role: WorkspaceRole) -> None: ...

    async def remove(self, user_id: UserId) -> None: ...

    async def email_is_member(self, email: str) -> bool: ...


class InviteRepository(Protocol):
    async def add(self, invite: InviteRecord, *, token_hash: str) -> None: ...

    async def get(self, invite_id: UUID) -> InviteRecord | None: ...

    async def pending_for(self, email: str, now: datetime) -> InviteRecord | None:
        """The unexpired, unaccepted, unrevoked invite of an address, if any."""
        ...

    async def list_open(self, *, limit: int, before: UUID | None) -> list[InviteRecord]:
        """Invites neither accepted nor revoked (pending or expired), newest first."""
        ...

    async def count_pending(self, now: datetime) -> int:
        """Unexpired invites neither accepted nor revoked: the seats they reserve."""
        ...

    async def revoke(self, invite_id: UUID, now: datetime) -> None: ...

    async def mark_accepted(self, invite_id: UUID, now: datetime) -> bool:
        """Accept a pending invite in one conditional statement; False if it was not pending."""
        ...


class ApiKeyRepository(Protocol):
    async def add(self, key: ApiKeyRecord) -> None: ...

    async def get(self, key_row_id: UUID) -> ApiKeyRecord | None: ...

    async def list_active(self, *, limit: int, before: UUID | None) -> list[ApiKeyRecord]:
        """Unrevoked keys, newest first."""
        ...

    async def revoke(self, key_row_id: UUID, now: datetime) -> bool:
        """Revoke an active key; False if it was revoked already."""
        ...

    async def revoke_created_by(self, user_id: UserId, now: datetime) -> int:
        """Revoke the active keys a user created in this workspace; how many."""
        ...


class OnboardingRepository(Protocol):
    async def get(self) -> Onboarding:
        """The workspace's onboarding so far (empty when nothing was saved)."""
        ...

    async def save(
        self, workspace_id: WorkspaceId, onboarding: Onboarding, now: datetime
    ) -> None: ...


class UserAccounts(Protocol):
    """Users belong to no workspace; these reads and writes happen once the tenant is known."""

    async def get(self, user_id: UserId) -> UserRecord | None: ...

    async def by_email(self, email: str) -> UserRecord | None: ...

    async def add(self, user: UserRecord) -> None: ...

    async def set_last_workspace(self, user_id: UserId, workspace_id: WorkspaceId) -> None: ...


class SessionPreferences(Protocol):
    async def set_current_workspace(
        self, session_id: UUID, user_id: UserId, workspace_id: WorkspaceId
    ) -> None: ...


class WorkspaceAdminUnitOfWork(IdentityUnitOfWork, Protocol):
    workspaces: AdminWorkspaces
    memberships: MemberRepository
    invites: InviteRepository
    api_keys: ApiKeyRepository
    onboarding: OnboardingRepository
    users: UserAccounts
    sessions: SessionPreferences


class SeatPolicy(Protocol):
    async def allowed(self, workspace_id: WorkspaceId) -> int:
        """How many seats (members + pending invites) the workspace's plan allows."""
        ...


class StarterSeats:
    """Every workspace has Starter's seats until the plans issue lands."""

    async def allowed(self, workspace_id: WorkspaceId) -> int:
        return plan_seats()


class FixedSeats:
    """A fixed number of seats for every workspace (tests, and operators' overrides)."""

    def __init__(self, seats: int) -> None:
        self.seats = seats

    async def allowed(self, workspace_id: WorkspaceId) -> int:
        return self.seats
