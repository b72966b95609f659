"""A small in-memory world for the workspace-administration handlers: workspaces, users with
roles, and a bus over the fakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from scaliyo.application.bus import Actor, ActorKind, Bus, Context, default_middleware
from scaliyo.application.identity.ports import MembershipRecord, UserRecord
from scaliyo.application.identity.services import AppLinks, IdentityServices
from scaliyo.application.identity.workspace_admin_handlers import workspace_admin_handlers
from scaliyo.application.identity.workspace_ports import FixedSeats, SeatPolicy, StarterSeats
from scaliyo.domain.identity.roles import PlatformRole, WorkspaceRole
from scaliyo.domain.identity.workspace import Workspace
from scaliyo.domain.shared.ids import UserId, WorkspaceId
from tests.unit.fakes import (
    FakeDirectory,
    FakeHasher,
    FakeMailer,
    FakeTokens,
    FixedClock,
    InMemoryStore,
    SequentialIds,
    fake_uow_factory,
)

COMMON_PASSWORDS = frozenset({"password123", "qwertyuiop"})


@dataclass
class World:
    store: InMemoryStore = field(default_factory=InMemoryStore)
    clock: FixedClock = field(default_factory=FixedClock)
    ids: SequentialIds = field(default_factory=SequentialIds)
    mailer: FakeMailer = field(default_factory=FakeMailer)
    tokens: FakeTokens = field(default_factory=FakeTokens)
    seats: SeatPolicy = field(default_factory=StarterSeats)

    def bus(self) -> Bus:
        services = IdentityServices(
            tokens=self.tokens,
            mailer=self.mailer,
            hasher=FakeHasher(),
            directory=FakeDirectory(self.store),
            seats=self.seats,
            common_passwords=COMMON_PASSWORDS,
            links=AppLinks("http://app.test/"),
        )
        handlers = workspace_admin_handlers(clock=self.clock, ids=self.ids, services=services)
        return Bus(handlers, fake_uow_factory(self.store), default_middleware())

    def with_seats(self, seats: int) -> World:
        self.seats = FixedSeats(seats)
        return self

    def workspace(self, name: str = "Acme") -> WorkspaceId:
        workspace_id = WorkspaceId(self.ids.new())
        self.store.workspaces[workspace_id] = Workspace(
            id=workspace_id, name=name, created_at=self.clock.now()
        )
        return workspace_id

    def user(self, email: str, *, confirmed: bool = True) -> UserId:
        user_id = UserId(self.ids.new())
        self.store.identity.users[user_id] = UserRecord(
            id=user_id,
            email=email,
            password_hash="plain:correct horse battery",
            platform_role=PlatformRole.CLIENT,
            is_super_admin=False,
            email_confirmed_at=self.clock.now() if confirmed else None,
            last_workspace_id=None,
            created_at=self.clock.now(),
        )
        return user_id

    def member(self, workspace_id: WorkspaceId, email: str, role: WorkspaceRole | str) -> UserId:
        existing = next(
            (u.id for u in self.store.identity.users.values() if u.email == email), None
        )
        user_id = existing or self.user(email)
        self.store.identity.memberships[(workspace_id, user_id)] = MembershipRecord(
            workspace_id=workspace_id,
            user_id=user_id,
            role=WorkspaceRole(role),
            created_at=self.clock.now(),
        )
        return user_id

    def session(self, user_id: UUID, workspace_id: UUID | None) -> UUID:
        session_id = self.ids.new()
        self.store.identity.sessions[session_id] = (user_id, workspace_id)
        return session_id

    def as_user(
        self,
        user_id: UUID,
        workspace_id: UUID | None,
        *,
        session_id: UUID | None = None,
        kind: ActorKind = ActorKind.USER,
    ) -> Context:
        """The context the authenticator builds: the user's current role in the workspace."""
        membership = (
            self.store.identity.memberships.get((workspace_id, user_id))
            if workspace_id is not None
            else None
        )
        extras = {} if session_id is None else {"session_id": session_id}
        return Context(
            request_id="test",
            actor=Actor(
                kind,
                id=user_id,
                workspace_role=None if membership is None else membership.role.value,
                platform_role="CLIENT",
            ),
            workspace_id=None if workspace_id is None else WorkspaceId(workspace_id),
            extras=extras,
        )

    def anonymous(self) -> Context:
        return Context(request_id="test")

    def invite_token(self, to: str) -> str:
        """The token of the last invite mailed to ``to``."""
        mail = [m for m in self.mailer.sent if m.to == to and m.kind == "invite"][-1]
        line = next(line for line in mail.text.splitlines() if line.startswith("Invite token: "))
        return line.removeprefix("Invite token: ")
