"""Sign-up and email confirmation over HTTP, on PostgreSQL, with the dev outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from scaliyo.adapters.crypto.tokens import RandomTokens
from tests.factories import insert_account
from tests.integration.helpers.auth import (
    PASSWORD,
    PROBLEM,
    auth_app,
    auth_settings,
    client_of,
    last_token,
    log_in,
    mails_to,
    new_email,
    scalar,
    sign_up_and_confirm,
)


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
async def client(settings, tmp_path) -> AsyncIterator[AsyncTestClient]:
    async with client_of(auth_app(auth_settings(settings, tmp_path))) as client:
        yield client


async def sign_up(client, address: str, password: str = PASSWORD):
    return await client.post("/api/v1/auth/signup", json={"email": address, "password": password})


async def test_signup_makes_an_unconfirmed_owner_of_a_workspace_and_mails_a_token(
    client, outbox, owner_engine
):
    address = new_email("jane")
    response = await sign_up(client, f"  {address.upper()} ")
    assert response.status_code == 201
    assert response.json() == {"status": "confirmation_sent"}

    user = await scalar(
        owner_engine, "SELECT row_to_json(u) FROM users u WHERE email = :e", e=address
    )
    assert user["email_confirmed_at"] is None
    assert user["platform_role"] == "CLIENT"
    assert user["password_hash"].startswith("$argon2id$")
    workspace = await scalar(
        owner_engine,
        "SELECT row_to_json(w) FROM workspaces w JOIN memberships m ON m.workspace_id = w.id "
        "WHERE m.user_id = :u AND m.role = 'owner'",
        u=user["id"],
    )
    assert workspace["name"] == "Acme Corp"
    assert user["last_workspace_id"] == workspace["id"]

    [mail] = mails_to(outbox, address, "confirmation")
    token = last_token(outbox, address, "confirmation")
    assert token in mail.get_content()
    stored = await scalar(
        owner_engine,
        "SELECT token_hash FROM auth_tokens WHERE user_id = :u AND kind = 'email_confirmation'",
        u=user["id"],
    )
    assert stored == RandomTokens().digest(token)  # only the digest is kept
    assert await scalar(
        owner_engine,
        "SELECT expires_at - created_at = interval '48 hours' FROM auth_tokens WHERE user_id = :u",
        u=user["id"],
    )
    assert await scalar(
        owner_engine,
        "SELECT count(*) FROM outbox WHERE message_type = 'workspace.created' "
        "AND aggregate_id = :w",
        w=workspace["id"],
    )


async def test_signup_of_a_free_mail_address_names_the_workspace_my_workspace(client, owner_engine):
    address = f"solo-{new_email()[:12]}@gmail.com"
    assert (await sign_up(client, address)).status_code == 201
    name = await scalar(
        owner_engine,
        "SELECT w.name FROM workspaces w JOIN memberships m ON m.workspace_id = w.id "
        "JOIN users u ON u.id = m.user_id WHERE u.email = :e",
        e=address,
    )
    assert name == "My workspace"


async def test_an_existing_address_gets_the_same_answer_and_a_warning_mail(
    client, outbox, owner_engine
):
    address = new_email("taken")
    await sign_up_and_confirm(client, outbox, address)

    again = await sign_up(client, address, "another long passphrase")
    assert again.status_code == 201
    assert again.json() == {"status": "confirmation_sent"}
    assert await scalar(owner_engine, "SELECT count(*) FROM users WHERE email = :e", e=address) == 1
    [warning] = mails_to(outbox, address, "signup_attempt")
    assert "No second account" in warning.get_content()
    assert len(mails_to(outbox, address, "confirmation")) == 1
    # The account keeps its password.
    await log_in(client, address, PASSWORD)


async def test_signing_up_again_before_confirming_replaces_password_and_token(client, outbox):
    address = new_email("twice")
    assert (await sign_up(client, address, "first long passphrase")).status_code == 201
    first = last_token(outbox, address, "confirmation")
    assert (await sign_up(client, address, "second long passphrase")).status_code == 201
    second = last_token(outbox, address, "confirmation")

    assert (await client.post("/api/v1/auth/confirm", json={"token": first})).status_code == 400
    assert (await client.post("/api/v1/auth/confirm", json={"token": second})).status_code == 200
    refused = await client.post(
        "/api/v1/auth/login", json={"email": address, "password": "first long passphrase"}
    )
    assert refused.status_code == 401
    await log_in(client, address, "second long passphrase")


async def test_confirmation_is_single_use_and_login_waits_for_it(client, outbox, owner_engine):
    address = new_email("confirm")
    assert (await sign_up(client, address)).status_code == 201

    early = await client.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert early.status_code == 403
    assert early.json()["code"] == "email_not_confirmed"
    assert "set-cookie" not in early.headers

    token = last_token(outbox, address, "confirmation")
    confirmed = await client.post("/api/v1/auth/confirm", json={"token": token})
    assert confirmed.status_code == 200
    assert confirmed.json() == {"status": "email_confirmed"}
    assert await scalar(
        owner_engine,
        "SELECT email_confirmed_at IS NOT NULL FROM users WHERE email = :e",
        e=address,
    )

    reused = await client.post("/api/v1/auth/confirm", json={"token": token})
    assert reused.status_code == 400
    assert reused.headers["content-type"].startswith(PROBLEM)
    assert reused.json()["code"] == "invalid_token"
    await log_in(client, address)


@pytest.mark.parametrize("token", ["forged-token", "x" * 300, "", "  "])
async def test_forged_tokens_are_invalid_token(client, token):
    response = await client.post("/api/v1/auth/confirm", json={"token": token})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"


async def test_an_expired_confirmation_token_is_invalid_and_a_resend_works(
    client, outbox, owner_engine
):
    address = new_email("late")
    assert (await sign_up(client, address)).status_code == 201
    stale = last_token(outbox, address, "confirmation")
    async with owner_engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE auth_tokens SET expires_at = now() - interval '1 second' "
                "WHERE user_id = (SELECT id FROM users WHERE email = :e)"
            ),
            {"e": address},
        )
    expired = await client.post("/api/v1/auth/confirm", json={"token": stale})
    assert expired.status_code == 400
    assert expired.json()["code"] == "invalid_token"

    resent = await client.post("/api/v1/auth/resend-confirmation", json={"email": address})
    assert resent.status_code == 202
    assert resent.json() == {"status": "confirmation_sent"}
    fresh = last_token(outbox, address, "confirmation")
    assert fresh != stale
    assert (await client.post("/api/v1/auth/confirm", json={"token": fresh})).status_code == 200


async def test_resend_for_unknown_and_confirmed_addresses_answers_alike_and_mails_nothing(
    client, outbox, owner_engine
):
    confirmed = await insert_account(owner_engine, email=new_email("done"))
    unknown = new_email("nobody")
    for address in (unknown, confirmed.email):
        response = await client.post("/api/v1/auth/resend-confirmation", json={"email": address})
        assert response.status_code == 202
        assert response.json() == {"status": "confirmation_sent"}
        assert mails_to(outbox, address) == []


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (b"{not json", 400, "malformed_json", None),
        (
            b'{"email": "a@acme.io", "password": "long enough pw", "admin": true}',
            422,
            "validation_failed",
            "admin",
        ),
        (b'{"email": "a@acme.io"}', 422, "validation_failed", "password"),
        (b'{"email": 42, "password": "long enough pw"}', 422, "validation_failed", "email"),
        (
            b'{"email": "not an address", "password": "long enough pw"}',
            422,
            "invalid_email",
            "email",
        ),
        (b'{"email": "a@acme.io", "password": "short"}', 422, "weak_password", "password"),
        (b'{"email": "a@acme.io", "password": "password123"}', 422, "weak_password", "password"),
        (b'{"email": "a@acme.io", "password": "A@ACME.IO"}', 422, "weak_password", "password"),
        (b"[]", 422, "validation_failed", None),
    ],
)
async def test_bad_signup_input_is_a_problem_never_a_500(client, body, status, code, field):
    response = await client.post(
        "/api/v1/auth/signup", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["code"] == code
    if field is not None:
        assert field in [error["field"] for error in problem["errors"]]


async def test_an_oversize_body_is_413(client):
    response = await client.post(
        "/api/v1/auth/signup",
        content=b'{"email": "a@acme.io", "password": "' + b"x" * (2 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
