"""Invites through the bus: seats, replacement, expiry, single use, accepting with or without an
account."""

from __future__ import annotations

import pytest

from scaliyo.application.identity.workspace_admin import (
    AcceptInvite,
    CreateInvite,
    ListInvites,
    RevokeInvite,
)
from scaliyo.application.identity.workspace_admin_handlers import (
    InviteForAnotherAccount,
    SignInRequired,
)
from scaliyo.domain.identity.invites import InviteNotFound
from scaliyo.domain.identity.members import AlreadyMember
from scaliyo.domain.identity.passwords import WeakPassword
from scaliyo.domain.identity.roles import RoleTooLow, WorkspaceRole
from scaliyo.domain.identity.seats import STARTER_SEATS, SeatLimitReached
from scaliyo.domain.identity.tokens import InvalidToken
from scaliyo.domain.shared.errors import ValidationFailed
from tests.unit.workspace_admin_world import World

PASSWORD = "a long enough passphrase"


@pytest.fixture
def world() -> World:
    return World().with_seats(3)


@pytest.fixture
def acme(world: World):
    ws = world.workspace("Acme")
    owner = world.member(ws, "owner@acme.example.com", "owner")
    return ws, owner


async def test_starter_seats_allow_no_invite_beside_the_owner():
    world = World()  # Starter: 1 seat
    ws = world.workspace()
    owner = world.member(ws, "owner@acme.example.com", "owner")
    assert STARTER_SEATS == 1
    with pytest.raises(SeatLimitReached) as refused:
        await world.bus().execute(
            CreateInvite(email="new@acme.example.com", role="member"), world.as_user(owner, ws)
        )
    assert refused.value.code == "seat_limit_reached"
    assert world.mailer.sent == [] and world.store.identity.invites == {}


async def test_invites_count_against_seats_until_revoked(world, acme):
    ws, owner = acme
    bus = world.bus()
    me = world.as_user(owner, ws)
    first = await bus.execute(CreateInvite(email="A@Acme.example.com", role="member"), me)
    await bus.execute(CreateInvite(email="b@acme.example.com", role="viewer"), me)
    with pytest.raises(SeatLimitReached):  # owner + 2 pending = 3 seats
        await bus.execute(CreateInvite(email="c@acme.example.com", role="member"), me)
    await bus.execute(RevokeInvite(invite_id=first.id), me)
    await bus.execute(CreateInvite(email="c@acme.example.com", role="member"), me)
    assert first.email == "a@acme.example.com"  # normalised
    page = await bus.execute(ListInvites(), me)
    assert sorted((i.email, i.status) for i in page.items) == [
        ("b@acme.example.com", "pending"),
        ("c@acme.example.com", "pending"),
    ]


async def test_an_expired_invite_frees_its_seat_and_is_listed_as_expired(world, acme):
    ws, owner = acme
    bus = world.bus()
    me = world.as_user(owner, ws)
    await bus.execute(CreateInvite(email="a@acme.example.com", role="member"), me)
    await bus.execute(CreateInvite(email="b@acme.example.com", role="member"), me)
    world.clock.advance(days=7)
    await bus.execute(CreateInvite(email="c@acme.example.com", role="member"), me)
    statuses = {i.email: i.status for i in (await bus.execute(ListInvites(), me)).items}
    assert statuses == {
        "a@acme.example.com": "expired",
        "b@acme.example.com": "expired",
        "c@acme.example.com": "pending",
    }


async def test_reinviting_replaces_the_token_and_keeps_one_seat(world, acme):
    ws, owner = acme
    bus = world.bus()
    me = world.as_user(owner, ws)
    await bus.execute(CreateInvite(email="a@acme.example.com", role="member"), me)
    old = world.invite_token("a@acme.example.com")
    await bus.execute(CreateInvite(email="a@acme.example.com", role="admin"), me)
    new = world.invite_token("a@acme.example.com")
    assert old != new
    await bus.execute(CreateInvite(email="b@acme.example.com", role="member"), me)  # seat reused
    with pytest.raises(InvalidToken):
        await bus.execute(AcceptInvite(token=old, password=PASSWORD), world.anonymous())
    accepted = await bus.execute(AcceptInvite(token=new, password=PASSWORD), world.anonymous())
    assert accepted.workspace.role == "admin"


async def test_invite_rules_roles_and_addresses(world, acme):
    ws, owner = acme
    bus = world.bus()
    member = world.member(ws, "member@acme.example.com", "member")
    with pytest.raises(RoleTooLow):
        await bus.execute(
            CreateInvite(email="x@acme.example.com", role="viewer"), world.as_user(member, ws)
        )
    me = world.as_user(owner, ws)
    with pytest.raises(ValidationFailed) as refused:
        await bus.execute(CreateInvite(email="x@acme.example.com", role="owner"), me)
    assert refused.value.errors[0].field == "role"
    with pytest.raises(ValidationFailed) as refused:
        await bus.execute(CreateInvite(email="not an email", role="member"), me)
    assert refused.value.code == "invalid_email"
    assert refused.value.errors[0].field == "email"
    with pytest.raises(AlreadyMember):
        await bus.execute(CreateInvite(email="MEMBER@acme.example.com", role="viewer"), me)


async def test_the_invite_email_carries_the_token_and_the_api_never_shows_it(world, acme):
    ws, owner = acme
    view = await world.bus().execute(
        CreateInvite(email="a@acme.example.com", role="viewer"), world.as_user(owner, ws)
    )
    (mail,) = world.mailer.sent
    token = world.invite_token("a@acme.example.com")
    assert mail.kind == "invite" and "Acme" in mail.subject
    assert f"http://app.test/invite?token={token}" in mail.text
    assert token not in repr(view)
    assert view.expires_at == "2026-12-07T12:00:00Z"
    stored = [h for _, h in world.store.identity.invites.values()]
    assert stored == [world.tokens.digest(token)]
    audit = [a for a in world.store.audit if a.action == "invite.created"]
    assert audit[0].details["email"] == "a***@acme.example.com"


async def test_accept_with_a_password_creates_a_confirmed_member(world, acme):
    ws, owner = acme
    bus = world.bus()
    await bus.execute(
        CreateInvite(email="new@acme.example.com", role="viewer"), world.as_user(owner, ws)
    )
    token = world.invite_token("new@acme.example.com")
    with pytest.raises(ValidationFailed) as refused:
        await bus.execute(AcceptInvite(token=token), world.anonymous())
    assert refused.value.errors[0].field == "password"
    with pytest.raises(WeakPassword):
        await bus.execute(AcceptInvite(token=token, password="short"), world.anonymous())

    accepted = await bus.execute(AcceptInvite(token=token, password=PASSWORD), world.anonymous())
    assert accepted.account_created is True
    assert accepted.workspace.name == "Acme" and accepted.workspace.role == "viewer"
    user = next(u for u in world.store.identity.users.values() if u.email == "new@acme.example.com")
    assert user.email_confirmed_at is not None and user.password_hash == "plain:" + PASSWORD
    assert user.last_workspace_id == ws
    assert world.store.identity.memberships[(ws, user.id)].role is WorkspaceRole.VIEWER
    audit = [a for a in world.store.audit if a.action == "invite.accepted"]
    assert audit[0].actor == f"user:{user.id}"

    with pytest.raises(InvalidToken):  # single use
        await bus.execute(AcceptInvite(token=token, password=PASSWORD), world.anonymous())


@pytest.mark.parametrize("token", ["", "forged", "x" * 5000])
async def test_forged_tokens_are_invalid(world, token):
    with pytest.raises(InvalidToken) as refused:
        await world.bus().execute(AcceptInvite(token=token, password=PASSWORD), world.anonymous())
    assert refused.value.code == "invalid_token"


async def test_expired_and_revoked_invites_are_invalid_tokens(world, acme):
    ws, owner = acme
    bus = world.bus()
    me = world.as_user(owner, ws)
    await bus.execute(CreateInvite(email="late@acme.example.com", role="member"), me)
    late = world.invite_token("late@acme.example.com")
    revoked = await bus.execute(CreateInvite(email="gone@acme.example.com", role="member"), me)
    gone = world.invite_token("gone@acme.example.com")
    await bus.execute(RevokeInvite(invite_id=revoked.id), me)
    await bus.execute(RevokeInvite(invite_id=revoked.id), me)  # again: nothing changes
    with pytest.raises(InvalidToken):
        await bus.execute(AcceptInvite(token=gone, password=PASSWORD), world.anonymous())
    world.clock.advance(days=7)
    with pytest.raises(InvalidToken):
        await bus.execute(AcceptInvite(token=late, password=PASSWORD), world.anonymous())
    assert [a.action for a in world.store.audit].count("invite.revoked") == 1


async def test_an_existing_account_must_be_signed_in_as_itself(world, acme):
    ws, owner = acme
    bus = world.bus()
    other_ws = world.workspace("Elsewhere")
    invitee = world.member(other_ws, "pat@elsewhere.example.com", "owner")
    intruder = world.member(other_ws, "eve@elsewhere.example.com", "member")
    await bus.execute(
        CreateInvite(email="pat@elsewhere.example.com", role="admin"), world.as_user(owner, ws)
    )
    token = world.invite_token("pat@elsewhere.example.com")
    with pytest.raises(SignInRequired) as refused:
        await bus.execute(AcceptInvite(token=token, password=PASSWORD), world.anonymous())
    assert refused.value.code == "sign_in_required"
    with pytest.raises(InviteForAnotherAccount):
        await bus.execute(AcceptInvite(token=token), world.as_user(intruder, None))
    accepted = await bus.execute(AcceptInvite(token=token), world.as_user(invitee, None))
    assert accepted.account_created is False and accepted.user_id == str(invitee)
    assert world.store.identity.memberships[(ws, invitee)].role is WorkspaceRole.ADMIN
    assert len(world.store.identity.users) == 3  # owner, pat, eve: no account was created


async def test_accepting_rechecks_the_seats(world, acme):
    ws, owner = acme
    bus = world.bus()
    me = world.as_user(owner, ws)
    await bus.execute(CreateInvite(email="a@acme.example.com", role="member"), me)
    await bus.execute(CreateInvite(email="b@acme.example.com", role="member"), me)
    world.seats.seats = 2  # the plan shrank: one more member fits
    await bus.execute(
        AcceptInvite(token=world.invite_token("a@acme.example.com"), password=PASSWORD),
        world.anonymous(),
    )
    with pytest.raises(SeatLimitReached):
        await bus.execute(
            AcceptInvite(token=world.invite_token("b@acme.example.com"), password=PASSWORD),
            world.anonymous(),
        )
    assert sum(1 for (w, _) in world.store.identity.memberships if w == ws) == 2


async def test_revoking_another_workspaces_invite_is_not_found(world, acme):
    ws, owner = acme
    other_ws = world.workspace("Other")
    other_owner = world.member(other_ws, "o@other.example.com", "owner")
    bus = world.bus()
    theirs = await bus.execute(
        CreateInvite(email="x@other.example.com", role="member"),
        world.as_user(other_owner, other_ws),
    )
    for invite_id in (theirs.id, "nope"):
        with pytest.raises(InviteNotFound):
            await bus.execute(RevokeInvite(invite_id=invite_id), world.as_user(owner, ws))
