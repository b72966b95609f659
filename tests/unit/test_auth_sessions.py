"""Sign-in, sessions and request authentication, through the bus and the service on fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scaliyo.application.bus import ActorKind
from scaliyo.application.identity.auth import (
    ListSessions,
    LogIn,
    LogOut,
    RevokeOtherSessions,
    RevokeSession,
)
from scaliyo.application.identity.authentication import (
    Authentication,
    CsrfFailed,
    Unauthenticated,
)
from scaliyo.application.identity.handlers import WorkspaceNotFound
from scaliyo.application.identity.ports import ApiKeyRecord, MembershipRecord
from scaliyo.application.identity.workspace_admin_handlers import SessionRequired
from scaliyo.domain.identity.accounts import EmailNotConfirmed, InvalidCredentials, SessionNotFound
from scaliyo.domain.identity.roles import WorkspaceRole
from scaliyo.domain.identity.workspace import Workspace
from scaliyo.domain.shared.errors import RateLimited
from tests.unit.auth_world import PASSWORD, AuthDirectory, AuthWorld, MemoryActivity


@pytest.fixture
def world() -> AuthWorld:
    return AuthWorld()


def add_workspace(world: AuthWorld, name: str, user_id, role: str = "owner"):
    workspace_id = world.ids.new()
    world.store.workspaces[workspace_id] = Workspace(
        id=workspace_id, name=name, created_at=world.clock.now()
    )
    world.store.identity.memberships[(workspace_id, user_id)] = MembershipRecord(
        workspace_id=workspace_id,
        user_id=user_id,
        role=WorkspaceRole(role),
        created_at=world.clock.now(),
    )
    return workspace_id


async def log_in(world: AuthWorld, email: str = "jane@acme.io", password: str = PASSWORD):
    return await world.bus().execute(LogIn(email=email, password=password), world.anonymous())


async def test_unknown_address_and_wrong_password_are_one_error_and_cost_alike(world):
    world.add_user("jane@acme.io")
    with pytest.raises(InvalidCredentials) as wrong:
        await log_in(world, password="not it")
    with pytest.raises(InvalidCredentials) as unknown:
        await log_in(world, email="ghost@acme.io")
    assert (wrong.value.code, wrong.value.detail) == (unknown.value.code, unknown.value.detail)
    assert world.hasher.dummy_verifications == 1  # the unknown address spent a verification
    assert [e.action for e in world.audit.entries] == ["auth.login_failed"] * 2
    assert world.sessions == {}


async def test_the_right_password_of_an_unconfirmed_address_is_403_and_not_a_failure(world):
    world.add_user("jane@acme.io", confirmed=False)
    with pytest.raises(EmailNotConfirmed):
        await log_in(world)
    assert not any(key.startswith("login:account") for key in world.limiter.attempts)


async def test_login_makes_a_session_in_the_last_workspace_still_held(world):
    user = world.add_user("jane@acme.io")
    first = add_workspace(world, "First", user.id)
    last = add_workspace(world, "Last", user.id, "viewer")
    user.last_workspace_id = last
    result = await log_in(world, " JANE@acme.io")
    assert result.current_workspace_id == str(last)
    [session] = world.sessions.values()
    assert session.current_workspace_id == last
    assert session.expires_at == world.clock.now() + timedelta(days=30)
    token_hash, csrf_hash = world.store.session_hashes[session.id]
    assert token_hash == world.tokens.digest(result.session_token)
    assert csrf_hash == world.tokens.digest(result.csrf_token)
    assert result.session_token != result.csrf_token

    del world.store.identity.memberships[(last, user.id)]  # removed from it since
    assert (await log_in(world)).current_workspace_id == str(first)
    del world.store.identity.memberships[(first, user.id)]
    assert (await log_in(world)).current_workspace_id is None


async def test_login_rehashes_an_old_hash(world):
    world.add_user("jane@acme.io", password_hash="old:" + PASSWORD)
    await log_in(world)
    assert world.user_by_email("jane@acme.io").password_hash == "plain:" + PASSWORD


async def test_failed_logins_are_throttled_then_the_window_slides(world):
    world.add_user("jane@acme.io")
    for _ in range(world.limits.login_failures_per_account):
        with pytest.raises(InvalidCredentials):
            await log_in(world, password="guess")
        world.clock.advance(minutes=1)
    with pytest.raises(RateLimited) as throttled:
        await log_in(world)  # even the right password waits
    assert throttled.value.retry_after_seconds == 5 * 60  # the first failure leaves then
    world.clock.advance(minutes=5)
    await log_in(world)
    assert not any(key.startswith("login:account") for key in world.limiter.attempts)


async def test_session_management_needs_a_session(world):
    user = world.add_user("jane@acme.io")
    await log_in(world)
    [session] = world.sessions.values()
    bus = world.bus()
    for message in (LogOut(), ListSessions(), RevokeSession(session_id=str(session.id))):
        with pytest.raises(SessionRequired):
            await bus.execute(message, world.signed_in(session, ActorKind.API_KEY))
    assert session.user_id == user.id


async def test_sessions_are_listed_and_revoked_for_their_user_only(world):
    world.add_user("jane@acme.io")
    world.add_user("john@acme.io")
    for _ in range(3):
        await log_in(world)
    await log_in(world, "john@acme.io")
    bus = world.bus()
    jane = [
        s for s in world.sessions.values() if s.user_id == world.user_by_email("jane@acme.io").id
    ]
    john = next(s for s in world.sessions.values() if s not in jane)
    current = world.signed_in(jane[0])

    page = await bus.execute(ListSessions(limit=2), current)
    assert len(page.items) == 2
    rest = await bus.execute(ListSessions(limit=2, cursor=page.next_cursor), current)
    assert [item.current for item in [*page.items, *rest.items]] == [False, False, True]
    assert rest.next_cursor is None

    for other in (str(john.id), "nope"):
        with pytest.raises(SessionNotFound):
            await bus.execute(RevokeSession(session_id=other), current)
    await bus.execute(RevokeSession(session_id=str(jane[1].id)), current)
    assert (await bus.execute(RevokeOtherSessions(), current)).revoked == 1
    assert (await bus.execute(ListSessions(), current)).items[0].current
    await bus.execute(LogOut(), current)
    assert all(world.sessions[s.id].revoked_at is not None for s in jane), (
        "every session of jane is revoked"
    )
    assert world.sessions[john.id].revoked_at is None
    assert [e.action for e in world.audit.entries][-3:] == [
        "auth.session_revoked",
        "auth.sessions_revoked",
        "auth.logout",
    ]


# --- the authentication service --------------------------------------------------------------


def service(world: AuthWorld, activity: MemoryActivity | None = None) -> Authentication:
    return Authentication(
        AuthDirectory(world.store), world.tokens, world.clock, activity or MemoryActivity()
    )


async def test_sessions_authenticate_until_revoked_idle_or_old(world):
    user = world.add_user("jane@acme.io")
    home = add_workspace(world, "Home", user.id)
    second = add_workspace(world, "Second", user.id, "viewer")
    result = await log_in(world)
    activity = MemoryActivity()
    auth = service(world, activity)

    who = await auth.with_session(result.session_token, None)
    assert (who.actor.kind, who.actor.id, who.actor.workspace_role) == (
        ActorKind.USER,
        user.id,
        "owner",
    )
    assert who.workspace_id == home
    assert activity.sessions_seen == []  # seen a moment ago
    picked = await auth.with_session(result.session_token, f" {second} ")
    assert (picked.workspace_id, picked.actor.workspace_role) == (second, "viewer")
    for header in ("nope", str(world.ids.new())):
        with pytest.raises(WorkspaceNotFound):
            await auth.with_session(result.session_token, header)

    world.clock.advance(minutes=2)
    await auth.with_session(result.session_token, None)
    assert len(activity.sessions_seen) == 1
    world.clock.advance(days=14)  # idle since the last time it was seen
    with pytest.raises(Unauthenticated):
        await auth.with_session(result.session_token, None)
    for bad in ("", "x" * 300, "forged"):
        with pytest.raises(Unauthenticated):
            await auth.with_session(bad, None)


async def test_csrf_tokens_are_compared_to_the_session_digest(world):
    world.add_user("jane@acme.io")
    result = await log_in(world)
    auth = service(world)
    who = await auth.with_session(result.session_token, None)
    auth.check_csrf(who, result.csrf_token)
    for wrong in (None, "", result.session_token, "x" * 300):
        with pytest.raises(CsrfFailed):
            auth.check_csrf(who, wrong)


async def test_api_keys_act_as_their_creator_while_a_member(world):
    user = world.add_user("jane@acme.io")
    workspace_id = add_workspace(world, "Keys", user.id, "admin")
    key_id, secret = world.tokens.new_hex(16), world.tokens.new_hex(64)
    key = ApiKeyRecord(
        id=world.ids.new(),
        workspace_id=workspace_id,
        key_id=key_id,
        secret_hash=world.tokens.digest(secret),
        name="ci",
        created_by=user.id,
        created_at=world.clock.now(),
    )
    world.store.identity.api_keys[key.id] = key
    activity = MemoryActivity()
    auth = service(world, activity)

    who = await auth.with_api_key(f"sk_{key_id}_{secret}")
    assert (who.actor.kind, who.actor.id, who.actor.workspace_role) == (
        ActorKind.API_KEY,
        user.id,
        "admin",
    )
    assert (who.workspace_id, who.api_key_id, who.csrf_hash) == (workspace_id, key.id, None)
    assert activity.keys_used == [key.id]
    auth.check_csrf(who, None)  # Bearer requests are exempt

    for presented in (f"sk_{key_id}_{'0' * 64}", "sk_short", f"sk_{'f' * 16}_{secret}"):
        with pytest.raises(Unauthenticated):
            await auth.with_api_key(presented)
    del world.store.identity.memberships[(workspace_id, user.id)]
    with pytest.raises(Unauthenticated):
        await auth.with_api_key(f"sk_{key_id}_{secret}")
    add_workspace(world, "Elsewhere", user.id)
    world.store.identity.memberships[(workspace_id, user.id)] = MembershipRecord(
        workspace_id=workspace_id,
        user_id=user.id,
        role=WorkspaceRole.VIEWER,
        created_at=world.clock.now(),
    )
    assert (await auth.with_api_key(f"sk_{key_id}_{secret}")).actor.workspace_role == "viewer"
    key.revoked_at = world.clock.now()
    with pytest.raises(Unauthenticated):
        await auth.with_api_key(f"sk_{key_id}_{secret}")
