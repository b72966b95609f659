"""Workspace administration through the bus on real PostgreSQL: row-level security, the locks
that keep seats and owners right under concurrency, and what is stored."""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest
from sqlalchemy import text

from scaliyo.application.bus import Context
from scaliyo.application.identity.handlers import WorkspaceNotFound
from scaliyo.application.identity.workspace_admin import (
    AcceptInvite,
    ChangeMemberRole,
    CreateApiKey,
    CreateInvite,
    GetMe,
    GetOnboarding,
    ListApiKeys,
    ListInvites,
    ListMembers,
    RemoveMember,
    RevokeApiKey,
    RevokeInvite,
    SaveOnboardingStep,
    SwitchWorkspace,
)
from scaliyo.application.identity.workspace_admin_handlers import ApiKeyNotFound
from scaliyo.application.identity.workspace_ports import FixedSeats
from scaliyo.domain.identity.api_keys import parse_key
from scaliyo.domain.identity.invites import InviteNotFound
from scaliyo.domain.identity.members import LastOwner, MemberNotFound
from scaliyo.domain.identity.onboarding import (
    CompanyStep,
    FinishStep,
    GoalStep,
    OnboardingRole,
    PrimaryGoal,
    RoleStep,
    TeamSize,
)
from scaliyo.domain.identity.roles import RoleTooLow
from scaliyo.domain.identity.seats import SeatLimitReached
from scaliyo.domain.identity.tokens import InvalidToken
from scaliyo.domain.shared.errors import DomainError
from tests.integration.helpers.identity import (
    MemoryMailer,
    as_user,
    identity_bus,
    insert_member,
    insert_session,
    insert_team,
    insert_user,
    role_of,
)
from tests.unit.fakes import FixedClock

PASSWORD = "a long enough passphrase"
ANONYMOUS = Context(request_id="anonymous")


async def outcomes(*calls) -> list[object]:
    """Run the calls at once (each on its own connection); results or raised domain errors."""
    return list(await asyncio.gather(*calls, return_exceptions=True))


async def test_two_parallel_accepts_with_one_free_seat_admit_exactly_one(database, owner_engine):
    seats = FixedSeats(3)
    mailer = MemoryMailer()
    bus = identity_bus(database, seats=seats, mailer=mailer)
    ws, users = await insert_team(owner_engine, "Race Co", "owner")
    owner = as_user(users["owner"], ws, "owner")
    await bus.execute(CreateInvite(email="first@race.example.com", role="member"), owner)
    await bus.execute(CreateInvite(email="second@race.example.com", role="member"), owner)
    seats.seats = 2  # one more member fits

    results = await outcomes(
        *(
            bus.execute(
                AcceptInvite(
                    token=mailer.invite_token(f"{who}@race.example.com"), password=PASSWORD
                ),
                ANONYMOUS,
            )
            for who in ("first", "second")
        )
    )
    admitted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(admitted) == 1, results
    assert len(refused) == 1 and isinstance(refused[0], SeatLimitReached), results
    async with owner_engine.connect() as conn:
        members = (
            await conn.execute(
                text("SELECT count(*) FROM memberships WHERE workspace_id = :ws"), {"ws": ws}
            )
        ).scalar()
        accounts = (
            await conn.execute(text("SELECT count(*) FROM users WHERE email LIKE '%@race.%'"))
        ).scalar()
    assert members == 2
    assert accounts == 1  # the refused accept created no account either


async def test_parallel_invites_cannot_pass_the_seats_together(database, owner_engine):
    bus = identity_bus(database, seats=FixedSeats(3))
    ws, users = await insert_team(owner_engine, "Invites Co", "owner")
    owner = as_user(users["owner"], ws, "owner")
    results = await outcomes(
        *(
            bus.execute(CreateInvite(email=f"p{n}@invites.example.com", role="viewer"), owner)
            for n in range(4)
        )
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 2
    assert all(isinstance(r, SeatLimitReached) for r in results if isinstance(r, BaseException))


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(database, owner_engine):
    bus = identity_bus(database, seats=FixedSeats(5))
    ws, users = await insert_team(owner_engine, "Owners Co", "owner")
    second = await insert_user(owner_engine)
    await insert_member(owner_engine, ws, second, "owner")
    first = users["owner"]
    results = await outcomes(
        bus.execute(
            ChangeMemberRole(user_id=str(second), role="member"), as_user(first, ws, "owner")
        ),
        bus.execute(
            ChangeMemberRole(user_id=str(first), role="member"), as_user(second, ws, "owner")
        ),
    )
    assert sum(isinstance(r, DomainError) for r in results) == 1, results
    roles = {await role_of(owner_engine, ws, first), await role_of(owner_engine, ws, second)}
    assert roles == {"owner", "member"}


async def test_the_last_owner_is_protected_in_the_database_too(database, owner_engine):
    bus = identity_bus(database, seats=FixedSeats(5))
    ws, users = await insert_team(owner_engine, "Solo Co", "owner", "admin")
    owner = as_user(users["owner"], ws, "owner")
    with pytest.raises(LastOwner):
        await bus.execute(ChangeMemberRole(user_id=str(users["owner"]), role="admin"), owner)
    with pytest.raises(LastOwner):
        await bus.execute(RemoveMember(user_id=str(users["owner"])), owner)
    with pytest.raises(RoleTooLow):
        await bus.execute(
            RemoveMember(user_id=str(users["owner"])), as_user(users["admin"], ws, "admin")
        )
    assert await role_of(owner_engine, ws, users["owner"]) == "owner"


async def test_another_workspaces_rows_are_invisible(database, owner_engine):
    bus = identity_bus(database, seats=FixedSeats(5))
    ws_a, a = await insert_team(owner_engine, "A Co", "owner")
    ws_b, b = await insert_team(owner_engine, "B Co", "owner", "member")
    owner_a = as_user(a["owner"], ws_a, "owner")
    owner_b = as_user(b["owner"], ws_b, "owner")
    key_b = await bus.execute(CreateApiKey(name="b key"), owner_b)
    invite_b = await bus.execute(CreateInvite(email="x@b.example.com", role="member"), owner_b)

    members = await bus.execute(ListMembers(), owner_a)
    assert [m.user_id for m in members.items] == [str(a["owner"])]
    assert (await bus.execute(ListApiKeys(), owner_a)).items == []
    assert (await bus.execute(ListInvites(), owner_a)).items == []
    with pytest.raises(ApiKeyNotFound):
        await bus.execute(RevokeApiKey(api_key_id=key_b.id), owner_a)
    with pytest.raises(InviteNotFound):
        await bus.execute(RevokeInvite(invite_id=invite_b.id), owner_a)
    with pytest.raises(MemberNotFound):
        await bus.execute(ChangeMemberRole(user_id=str(b["member"]), role="viewer"), owner_a)
    with pytest.raises(MemberNotFound):
        await bus.execute(RemoveMember(user_id=str(b["member"])), owner_a)
    assert await role_of(owner_engine, ws_b, b["member"]) == "member"
    assert [k.id for k in (await bus.execute(ListApiKeys(), owner_b)).items] == [key_b.id]


async def test_an_api_key_is_stored_as_key_id_and_digest_only(database, owner_engine):
    bus = identity_bus(database, seats=FixedSeats(5))
    ws, users = await insert_team(owner_engine, "Keys Co", "owner", "viewer")
    with pytest.raises(RoleTooLow):
        await bus.execute(CreateApiKey(name="nope"), as_user(users["viewer"], ws, "viewer"))
    created = await bus.execute(CreateApiKey(name="CI"), as_user(users["owner"], ws, "owner"))
    parsed = parse_key(created.key)
    assert parsed is not None
    key_id, secret = parsed
    async with owner_engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT * FROM api_keys WHERE id = :id"), {"id": UUID(created.id)}
            )
        ).one()
        audit = (
            await conn.execute(
                text("SELECT action FROM audit_log WHERE target = :t"),
                {"t": f"api_key:{created.id}"},
            )
        ).scalars()
        actions = list(audit)
    assert row.key_id == key_id and secret not in row.secret_hash and len(row.secret_hash) == 64
    assert actions == ["api_key.created"]
    listed = (await bus.execute(ListApiKeys(), as_user(users["owner"], ws, "owner"))).items
    assert [k.prefix for k in listed] == [f"sk_{key_id}_…"]


async def test_invite_tokens_expire_and_work_once(database, owner_engine):
    clock = FixedClock()
    mailer = MemoryMailer()
    bus = identity_bus(database, seats=FixedSeats(5), mailer=mailer, clock=clock)
    ws, users = await insert_team(owner_engine, "Tokens Co", "owner")
    owner = as_user(users["owner"], ws, "owner")
    await bus.execute(CreateInvite(email="once@tokens.example.com", role="member"), owner)
    await bus.execute(CreateInvite(email="late@tokens.example.com", role="member"), owner)
    once = mailer.invite_token("once@tokens.example.com")
    late = mailer.invite_token("late@tokens.example.com")
    async with owner_engine.connect() as conn:
        stored = list(
            (
                await conn.execute(
                    text("SELECT token_hash FROM invites WHERE workspace_id = :ws"), {"ws": ws}
                )
            ).scalars()
        )
    assert once not in stored and late not in stored

    accepted = await bus.execute(AcceptInvite(token=once, password=PASSWORD), ANONYMOUS)
    assert accepted.account_created and accepted.workspace.name == "Tokens Co"
    with pytest.raises(InvalidToken):
        await bus.execute(AcceptInvite(token=once, password=PASSWORD), ANONYMOUS)
    clock.advance(days=7, seconds=1)
    with pytest.raises(InvalidToken):
        await bus.execute(AcceptInvite(token=late, password=PASSWORD), ANONYMOUS)
    async with owner_engine.connect() as conn:
        user = (
            await conn.execute(text("SELECT * FROM users WHERE email = 'once@tokens.example.com'"))
        ).one()
    assert user.email_confirmed_at is not None and user.last_workspace_id == ws
    assert await role_of(owner_engine, ws, user.id) == "member"


async def test_onboarding_round_trips_and_keeps_its_first_completion(database, owner_engine):
    clock = FixedClock()
    bus = identity_bus(database, seats=FixedSeats(5), clock=clock)
    ws, users = await insert_team(owner_engine, "Onboard Co", "owner")
    owner = as_user(users["owner"], ws, "owner")
    role = RoleStep(role=OnboardingRole.AGENCY, team_size=TeamSize.MEDIUM)
    company = CompanyStep(company_name="Onboard", website="onboard.example.com")
    goal = GoalStep(primary_goal=PrimaryGoal.SCORING)
    for step, data in ((1, role), (2, company), (3, goal), (4, FinishStep())):
        await bus.execute(SaveOnboardingStep(step=step, data=data), owner)
    clock.advance(hours=1)
    await bus.execute(
        SaveOnboardingStep(step=3, data=GoalStep(primary_goal=PrimaryGoal.LEADS)), owner
    )
    view = await bus.execute(GetOnboarding(), owner)
    assert view.completed and view.current_step == 5
    assert view.role == role and view.goal == GoalStep(primary_goal=PrimaryGoal.LEADS)
    assert view.company == CompanyStep(
        company_name="Onboard", website="https://onboard.example.com"
    )
    async with owner_engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT * FROM onboarding WHERE workspace_id = :ws"), {"ws": ws}
            )
        ).one()
    assert row.completed_at < row.updated_at


async def test_me_and_switch_read_memberships_across_workspaces(database, owner_engine):
    bus = identity_bus(database, seats=FixedSeats(5))
    ws_a, a = await insert_team(owner_engine, "Alpha", "owner")
    ws_b, _ = await insert_team(owner_engine, "Beta", "owner")
    ws_c, _ = await insert_team(owner_engine, "Gamma", "owner")
    user = a["owner"]
    await insert_member(owner_engine, ws_b, user, "viewer")
    session = await insert_session(owner_engine, user, ws_a)
    context = as_user(user, ws_a, "owner", session_id=session)

    me = await bus.execute(GetMe(), context)
    assert [(w.name, w.role) for w in me.workspaces] == [("Alpha", "owner"), ("Beta", "viewer")]
    assert me.current_workspace is not None and me.current_workspace.name == "Alpha"
    assert me.onboarding is not None and me.onboarding.current_step == 1

    with pytest.raises(WorkspaceNotFound):
        await bus.execute(SwitchWorkspace(workspace_id=str(ws_c)), context)
    switched = await bus.execute(SwitchWorkspace(workspace_id=str(ws_b)), context)
    assert switched.name == "Beta" and switched.role == "viewer"
    async with owner_engine.connect() as conn:
        current = (
            await conn.execute(
                text("SELECT current_workspace_id FROM sessions WHERE id = :id"), {"id": session}
            )
        ).scalar()
        last = (
            await conn.execute(
                text("SELECT last_workspace_id FROM users WHERE id = :id"), {"id": user}
            )
        ).scalar()
    assert current == ws_b and last == ws_b
