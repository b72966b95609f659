"""Sign-up, confirmation, password reset and operator-made users, through the bus on fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaliyo.application.identity.auth import (
    ConfirmEmail,
    CreateUser,
    LogIn,
    RequestPasswordReset,
    ResendConfirmation,
    ResetPassword,
    SignUp,
)
from scaliyo.domain.identity.accounts import DEFAULT_WORKSPACE_NAME, default_workspace_name
from scaliyo.domain.identity.emails import InvalidEmail
from scaliyo.domain.identity.passwords import WeakPassword
from scaliyo.domain.identity.roles import PlatformRole, WorkspaceRole
from scaliyo.domain.identity.tokens import InvalidToken
from scaliyo.domain.identity.workspace import workspace_name
from scaliyo.domain.shared.errors import PermissionDenied, RateLimited, ValidationFailed
from tests.unit.auth_world import PASSWORD, AuthWorld, FailingMailer


@pytest.fixture
def world() -> AuthWorld:
    return AuthWorld()


@pytest.mark.parametrize(
    ("email", "name"),
    [
        ("jane@acme.io", "Acme"),
        ("jane@mail.acme-corp.com", "Acme Corp"),
        ("jane@acme.co.uk", "Acme"),
        ("jane@gmail.com", DEFAULT_WORKSPACE_NAME),
        ("jane@localhost", DEFAULT_WORKSPACE_NAME),
        ("jane@bücher.example", "Bücher"),
        ("jane@xn--bcher-kva.com", DEFAULT_WORKSPACE_NAME),
    ],
)
def test_a_new_workspace_is_named_after_the_address_domain(email, name):
    assert default_workspace_name(email) == name


@given(st.emails())
def test_every_address_gives_a_valid_workspace_name(email):
    name = default_workspace_name(email.casefold())
    assert workspace_name(name) == name


async def test_signup_creates_an_unconfirmed_owner_and_mails_after_commit(world):
    result = await world.bus().execute(
        SignUp(email=" Jane@Acme.io ", password=PASSWORD), world.anonymous()
    )
    assert result.status == "confirmation_sent"
    user = world.user_by_email("jane@acme.io")
    assert user.email_confirmed_at is None
    assert user.password_hash == "plain:" + PASSWORD
    [membership] = world.store.identity.memberships.values()
    assert (membership.user_id, membership.role) == (user.id, WorkspaceRole.OWNER)
    assert world.store.workspaces[membership.workspace_id].name == "Acme"
    assert [e.event_type for e in world.store.outbox] == ["workspace.created"]
    assert [a.action for a in world.store.audit] == ["user.signed_up"]
    [mail] = world.mailer.sent
    assert (mail.to, mail.kind) == ("jane@acme.io", "confirmation")
    token = world.mail_token("jane@acme.io", "confirmation")
    [stored] = world.store.auth.tokens.items()
    assert stored[0] == world.tokens.digest(token)
    assert stored[1].expires_at - stored[1].created_at == timedelta(hours=48)


async def test_signup_of_an_existing_address_answers_alike_without_a_second_account(world):
    world.add_user("jane@acme.io")
    bus = world.bus()
    result = await bus.execute(SignUp(email="jane@acme.io", password=PASSWORD), world.anonymous())
    assert result.status == "confirmation_sent"
    assert len(world.users) == 1
    assert world.store.workspaces == {}
    assert [m.kind for m in world.mailer.sent] == ["signup_attempt"]


@pytest.mark.parametrize(
    ("email", "password", "error"),
    [
        ("not an address", PASSWORD, InvalidEmail),
        ("jane@acme.io", "short", WeakPassword),
        ("jane@acme.io", "password123", WeakPassword),
        ("jane@acme.io", "JANE@ACME.IO", WeakPassword),
    ],
)
async def test_bad_signups_write_nothing_and_count_nothing(world, email, password, error):
    with pytest.raises(error):
        await world.bus().execute(SignUp(email=email, password=password), world.anonymous())
    assert world.users == {}
    assert world.limiter.attempts == {}
    assert world.mailer.sent == []


async def test_signups_are_limited_per_ip_and_the_window_slides(world):
    bus = world.bus()
    for n in range(world.limits.signups_per_ip):
        await bus.execute(SignUp(email=f"u{n}@acme.io", password=PASSWORD), world.anonymous())
    with pytest.raises(RateLimited) as refused:
        await bus.execute(SignUp(email="late@acme.io", password=PASSWORD), world.anonymous())
    assert 1 <= refused.value.retry_after_seconds <= 3600
    await bus.execute(SignUp(email="other@acme.io", password=PASSWORD), world.anonymous("::1"))
    world.clock.advance(hours=1, seconds=1)
    await bus.execute(SignUp(email="late@acme.io", password=PASSWORD), world.anonymous())


async def test_a_failed_confirmation_mail_is_logged_and_the_signup_stands(world, caplog):
    world.mailer = FailingMailer()
    await world.bus().execute(SignUp(email="jane@acme.io", password=PASSWORD), world.anonymous())
    assert world.user_by_email("jane@acme.io")
    assert "system mail not sent" in caplog.text
    assert "jane@acme.io" not in caplog.text  # addresses are masked in logs


async def test_confirmation_tokens_are_single_use_and_expire(world):
    bus = world.bus()
    await bus.execute(SignUp(email="jane@acme.io", password=PASSWORD), world.anonymous())
    token = world.mail_token("jane@acme.io", "confirmation")

    world.clock.advance(hours=48)
    with pytest.raises(InvalidToken):
        await bus.execute(ConfirmEmail(token=token), world.anonymous())

    await bus.execute(ResendConfirmation(email="jane@acme.io"), world.anonymous())
    fresh = world.mail_token("jane@acme.io", "confirmation")
    await bus.execute(ConfirmEmail(token=fresh), world.anonymous())
    assert world.user_by_email("jane@acme.io").email_confirmed_at == world.clock.now()
    with pytest.raises(InvalidToken):
        await bus.execute(ConfirmEmail(token=fresh), world.anonymous())
    # Confirmed: a resend mails nothing.
    sent = len(world.mailer.sent)
    await bus.execute(ResendConfirmation(email="jane@acme.io"), world.anonymous())
    assert len(world.mailer.sent) == sent


async def test_a_reset_replaces_the_password_and_revokes_every_session(world):
    world.add_user("jane@acme.io")
    bus = world.bus()
    for _ in range(2):
        await bus.execute(LogIn(email="jane@acme.io", password=PASSWORD), world.anonymous())
    await bus.execute(RequestPasswordReset(email="jane@acme.io"), world.anonymous())
    await bus.execute(RequestPasswordReset(email="nobody@acme.io"), world.anonymous())
    assert [m.to for m in world.mailer.sent] == ["jane@acme.io"]
    token = world.mail_token("jane@acme.io", "password_reset")

    with pytest.raises(WeakPassword):
        await bus.execute(ResetPassword(token=token, password="short"), world.anonymous())
    await bus.execute(ResetPassword(token=token, password="new long passphrase"), world.anonymous())
    assert world.user_by_email("jane@acme.io").password_hash == "plain:new long passphrase"
    assert all(s.revoked_at == world.clock.now() for s in world.sessions.values())
    assert world.audit.entries[-1].action == "auth.password_reset"
    assert world.audit.entries[-1].details == {"sessions_revoked": 2}
    with pytest.raises(InvalidToken):
        await bus.execute(
            ResetPassword(token=token, password="third passphrase"), world.anonymous()
        )


async def test_reset_tokens_live_one_hour(world):
    world.add_user("jane@acme.io")
    bus = world.bus()
    await bus.execute(RequestPasswordReset(email="jane@acme.io"), world.anonymous())
    world.clock.advance(hours=1)
    with pytest.raises(InvalidToken):
        await bus.execute(
            ResetPassword(
                token=world.mail_token("jane@acme.io", "password_reset"),
                password="new long passphrase",
            ),
            world.anonymous(),
        )


async def test_reset_requests_are_limited_per_address_for_unknown_addresses_too(world):
    bus = world.bus()
    for n in range(world.limits.mails_per_account):
        await bus.execute(
            RequestPasswordReset(email="ghost@acme.io"), world.anonymous(f"10.0.0.{n}")
        )
    with pytest.raises(RateLimited):
        await bus.execute(RequestPasswordReset(email="ghost@acme.io"), world.anonymous("10.9.9.9"))


async def test_only_operators_create_users_and_roles_are_checked(world):
    bus = world.bus()
    with pytest.raises(PermissionDenied):
        await bus.execute(CreateUser(email="a@acme.io", password=PASSWORD), world.anonymous())
    with pytest.raises(ValidationFailed):
        await bus.execute(
            CreateUser(email="a@acme.io", password=PASSWORD, is_super_admin=True),
            world.operator(),
        )
    with pytest.raises(ValidationFailed):
        await bus.execute(
            CreateUser(email="a@acme.io", password=PASSWORD, platform_role="GUEST"),
            world.operator(),
        )
    created = await bus.execute(
        CreateUser(
            email="a@acme.io", password=PASSWORD, platform_role="admin", is_super_admin=True
        ),
        world.operator(),
    )
    user = world.user_by_email("a@acme.io")
    assert str(user.id) == created.user_id
    assert (user.platform_role, user.is_super_admin) == (PlatformRole.ADMIN, True)
    assert user.email_confirmed_at is not None
    assert world.mailer.sent == []
