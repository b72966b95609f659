"""Password resets over HTTP: no enumeration, single-use expiring tokens, every session revoked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from tests.factories import insert_account, insert_signed_in_session
from tests.integration.helpers.auth import (
    PASSWORD,
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

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
async def client(settings, tmp_path) -> AsyncIterator[AsyncTestClient]:
    async with client_of(auth_app(auth_settings(settings, tmp_path))) as client:
        yield client


async def request_reset(client, address: str):
    return await client.post("/api/v1/auth/password-reset", json={"email": address})


async def confirm_reset(client, token: str, password: str = NEW_PASSWORD):
    return await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": password}
    )


async def test_reset_answers_alike_for_every_address_and_mails_only_accounts(client, outbox):
    address = new_email("known")
    await sign_up_and_confirm(client, outbox, address)
    unknown = new_email("unknown")
    for who in (address, unknown):
        response = await request_reset(client, who)
        assert response.status_code == 202
        assert response.json() == {"status": "reset_requested"}
    assert len(mails_to(outbox, address, "password_reset")) == 1
    assert mails_to(outbox, unknown) == []


async def test_reset_changes_the_password_and_revokes_every_session(client, outbox, owner_engine):
    address = new_email("reset")
    await sign_up_and_confirm(client, outbox, address)
    first = await log_in(client, address)
    second = await log_in(client, address)
    user_id = await scalar(owner_engine, "SELECT id FROM users WHERE email = :e", e=address)

    assert (await request_reset(client, address)).status_code == 202
    token = last_token(outbox, address, "password_reset")
    assert "1 hour" in mails_to(outbox, address, "password_reset")[-1].get_content()

    weak = await confirm_reset(client, token, "password123")
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"
    assert (await client.get("/api/v1/workspace", headers=first.headers())).status_code == 200

    done = await confirm_reset(client, token)  # the weak attempt did not spend the token
    assert done.status_code == 200
    assert done.json() == {"status": "password_changed"}
    for session in (first, second):
        assert (await client.get("/api/v1/workspace", headers=session.headers())).status_code == 401

    old = await client.post("/api/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert old.status_code == 401
    await log_in(client, address, NEW_PASSWORD)

    reused = await confirm_reset(client, token, "yet another passphrase")
    assert reused.status_code == 400
    assert reused.json()["code"] == "invalid_token"
    assert (
        await scalar(
            owner_engine,
            "SELECT count(*) FROM audit_log WHERE action = 'auth.password_reset' AND target = :t",
            t=f"user:{user_id}",
        )
        == 1
    )


async def test_only_the_latest_reset_link_works_and_links_expire(client, outbox, owner_engine):
    account = await insert_account(owner_engine, email=new_email("links"))
    await request_reset(client, account.email)
    older = last_token(outbox, account.email, "password_reset")
    await request_reset(client, account.email)
    newer = last_token(outbox, account.email, "password_reset")
    assert (await confirm_reset(client, older)).json()["code"] == "invalid_token"

    async with owner_engine.begin() as conn:
        await conn.execute(
            text("UPDATE auth_tokens SET expires_at = now() WHERE user_id = :u"),
            {"u": account.user_id},
        )
    expired = await confirm_reset(client, newer)
    assert expired.status_code == 400
    assert expired.json()["code"] == "invalid_token"


async def test_a_confirmation_token_is_no_reset_token_and_a_reset_confirms_the_address(
    client, outbox, owner_engine
):
    address = new_email("unconfirmed")
    response = await client.post(
        "/api/v1/auth/signup", json={"email": address, "password": PASSWORD}
    )
    assert response.status_code == 201
    confirmation = last_token(outbox, address, "confirmation")
    assert (await confirm_reset(client, confirmation)).json()["code"] == "invalid_token"

    await request_reset(client, address)
    assert (await confirm_reset(client, last_token(outbox, address, "password_reset"))).is_success
    await log_in(client, address, NEW_PASSWORD)  # the reset proved the mailbox
    reset_token = last_token(outbox, address, "password_reset")
    confirm = await client.post("/api/v1/auth/confirm", json={"token": reset_token})
    assert confirm.json()["code"] == "invalid_token"


async def test_reset_revokes_sessions_made_elsewhere_too(client, outbox, owner_engine):
    account = await insert_account(owner_engine, email=new_email("elsewhere"))
    elsewhere = await insert_signed_in_session(owner_engine, account.user_id, account.workspace_id)
    assert (await client.get("/api/v1/workspace", headers=elsewhere.headers())).status_code == 200
    await request_reset(client, account.email)
    assert (
        await confirm_reset(client, last_token(outbox, account.email, "password_reset"))
    ).is_success
    assert (await client.get("/api/v1/workspace", headers=elsewhere.headers())).status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/api/v1/auth/password-reset", b'{"email": "nope"}', "invalid_email"),
        ("/api/v1/auth/password-reset", b'{"email": "a@b.io", "x": 1}', "validation_failed"),
        ("/api/v1/auth/password-reset/confirm", b'{"token": "t"}', "validation_failed"),
        ("/api/v1/auth/password-reset/confirm", b"{", "malformed_json"),
        (
            "/api/v1/auth/password-reset/confirm",
            b'{"token": "t", "password": "p"}',
            "invalid_token",
        ),
    ],
)
async def test_bad_reset_input_is_a_problem(client, path, body, code):
    response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.json()["code"] == code
