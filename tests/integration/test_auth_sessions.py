"""Sign-in, the session cookie, CSRF, sign-out and session revocation over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY
from litestar.testing import AsyncTestClient
from msgspec.structs import replace
from sqlalchemy import text

from scaliyo.adapters.crypto.passwords import Argon2PasswordHasher
from scaliyo.adapters.ids import new_id
from scaliyo.adapters.settings import Environment
from tests.factories import insert_account, insert_api_key, insert_signed_in_session
from tests.integration.helpers.auth import (
    PASSWORD,
    PROBLEM,
    auth_app,
    auth_settings,
    client_of,
    log_in,
    new_email,
    scalar,
    sign_up_and_confirm,
)

FAST = Argon2PasswordHasher(fast_for_tests=True)


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
async def client(settings, tmp_path) -> AsyncIterator[AsyncTestClient]:
    async with client_of(auth_app(auth_settings(settings, tmp_path))) as client:
        yield client


async def account_with_password(owner_engine, name: str = "Sessions Co", **kwargs):
    return await insert_account(
        owner_engine,
        email=new_email(),
        password_hash=FAST.hash(PASSWORD),
        workspace_name=name,
        **kwargs,
    )


async def test_login_sets_a_safe_session_cookie_and_returns_the_csrf_token(
    client, outbox, owner_engine
):
    address = new_email("cookie")
    await sign_up_and_confirm(client, outbox, address)
    response = await client.post(
        "/api/v1/auth/login",
        json={"email": address.upper(), "password": PASSWORD},
        headers={"User-Agent": "pytest-browser/1.0"},
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith("scaliyo_session=")
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "secure" not in attributes  # the test environment; production sets it (below)
    assert "samesite=lax" in cookie.lower()
    assert "path=/" in cookie.lower()
    assert "max-age=2592000" in cookie.lower()

    body = response.json()
    assert set(body) == {"csrf_token", "user", "current_workspace_id"}
    assert body["user"]["email"] == address
    assert body["user"]["platform_role"] == "CLIENT"
    token = response.cookies["scaliyo_session"]
    assert token not in response.text

    session = await scalar(
        owner_engine,
        "SELECT row_to_json(s) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = :e",
        e=address,
    )
    assert session["user_agent"] == "pytest-browser/1.0"
    assert session["ip"] == client.headers["X-Forwarded-For"]
    assert session["current_workspace_id"] == body["current_workspace_id"]
    assert token not in str(session)

    workspace = await client.get("/api/v1/workspace")  # the cookie jar sends the cookie
    assert workspace.status_code == 200
    assert workspace.json()["id"] == body["current_workspace_id"]
    assert workspace.json()["name"] == "Acme Corp"


async def test_production_cookies_are_secure(settings, tmp_path, owner_engine):
    account = await account_with_password(owner_engine)
    production = replace(auth_settings(settings, tmp_path), env=Environment.PRODUCTION)
    async with client_of(auth_app(production)) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}
        )
    assert response.status_code == 200
    assert "secure" in response.headers["set-cookie"].lower()


async def test_unknown_address_and_wrong_password_are_one_answer_and_audited(client, owner_engine):
    account = await account_with_password(owner_engine)
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": "not the password"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": new_email("ghost"), "password": PASSWORD}
    )
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith(PROBLEM)
        assert "set-cookie" not in response.headers
    strip = {"request_id"}
    assert {k: v for k, v in wrong.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }
    assert wrong.json()["code"] == "invalid_credentials"
    actions = await scalar(
        owner_engine,
        "SELECT array_agg(action) FROM audit_log WHERE target = :t",
        t=f"user:{account.user_id}",
    )
    assert actions == ["auth.login_failed"]


async def test_login_rehashes_a_password_hashed_with_other_parameters(client, owner_engine):
    old_hash = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY).hash(PASSWORD)
    account = await insert_account(owner_engine, email=new_email(), password_hash=old_hash)
    await log_in(client, account.email)
    new_hash = await scalar(
        owner_engine, "SELECT password_hash FROM users WHERE id = :u", u=account.user_id
    )
    assert new_hash != old_hash
    assert not FAST.needs_rehash(new_hash)
    await log_in(client, account.email)  # the new hash verifies


async def test_csrf_is_required_for_cookie_unsafe_requests_but_not_for_bearer(client, owner_engine):
    account = await account_with_password(owner_engine)
    signed_in = await log_in(client, account.email)

    missing = await client.post(
        "/api/v1/api-keys", json={"name": "ci"}, headers=signed_in.headers(csrf=False)
    )
    assert missing.status_code == 403
    assert missing.json()["code"] == "csrf_failed"
    wrong = await client.post(
        "/api/v1/api-keys",
        json={"name": "ci"},
        headers={**signed_in.headers(), "X-CSRF-Token": "not-the-token"},
    )
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "csrf_failed"
    # A session's token is no CSRF token.
    swapped = await client.post(
        "/api/v1/api-keys",
        json={"name": "ci"},
        headers={**signed_in.headers(), "X-CSRF-Token": signed_in.token},
    )
    assert swapped.status_code == 403
    # Safe methods need none.
    assert (await client.get("/api/v1/workspace", headers=signed_in.headers(csrf=False))).is_success

    created = await client.post(
        "/api/v1/api-keys", json={"name": "ci"}, headers=signed_in.headers()
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]

    by_key = await client.post(
        "/api/v1/api-keys", json={"name": "from a key"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert by_key.status_code == 201, by_key.text  # Bearer requests are exempt


async def test_logout_revokes_the_session_and_clears_the_cookie(client, owner_engine):
    account = await account_with_password(owner_engine)
    signed_in = await log_in(client, account.email)

    refused = await client.post("/api/v1/auth/logout", headers=signed_in.headers(csrf=False))
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"

    response = await client.post("/api/v1/auth/logout", headers=signed_in.headers())
    assert response.status_code == 204
    cleared = response.headers["set-cookie"].lower()
    assert cleared.startswith("scaliyo_session=")
    assert "max-age=0" in cleared

    after = await client.get("/api/v1/workspace", headers=signed_in.headers())
    assert after.status_code == 401
    assert after.json()["code"] == "unauthenticated"
    actions = await scalar(
        owner_engine,
        "SELECT array_agg(action ORDER BY at) FROM audit_log WHERE actor = :a",
        a=f"user:{account.user_id}",
    )
    assert actions == ["auth.login", "auth.logout"]


async def test_sessions_list_revoke_one_and_revoke_others(client, owner_engine):
    account = await account_with_password(owner_engine)
    laptop = await log_in(client, account.email)
    phone = await log_in(client, account.email)
    tablet = await log_in(client, account.email)
    stranger = await account_with_password(owner_engine, "Stranger Co")
    foreign = await insert_signed_in_session(owner_engine, stranger.user_id, stranger.workspace_id)

    listed = await client.get("/api/v1/auth/sessions", headers=laptop.headers())
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert len(items) == 3
    assert [item["current"] for item in items] == [False, False, True]  # newest first
    assert all(item["ip"] == client.headers["X-Forwarded-For"] for item in items)
    assert listed.json()["next_cursor"] is None
    phone_id = items[1]["id"]

    # Another user's session is "not found", as is garbage.
    for other in (str(foreign.session_id), "not-a-uuid", str(new_id())):
        response = await client.delete(f"/api/v1/auth/sessions/{other}", headers=laptop.headers())
        assert response.status_code == 404, other
        assert response.json()["code"] == "session_not_found"
    assert (await client.get("/api/v1/workspace", headers=foreign.headers())).status_code == 200

    revoked = await client.delete(f"/api/v1/auth/sessions/{phone_id}", headers=laptop.headers())
    assert revoked.status_code == 204
    assert (await client.get("/api/v1/workspace", headers=phone.headers())).status_code == 401
    again = await client.delete(f"/api/v1/auth/sessions/{phone_id}", headers=laptop.headers())
    assert again.status_code == 404

    others = await client.delete(
        "/api/v1/auth/sessions", params={"scope": "others"}, headers=laptop.headers()
    )
    assert others.status_code == 200
    assert others.json() == {"revoked": 1}
    assert (await client.get("/api/v1/workspace", headers=tablet.headers())).status_code == 401
    assert (await client.get("/api/v1/workspace", headers=laptop.headers())).status_code == 200
    remaining = (await client.get("/api/v1/auth/sessions", headers=laptop.headers())).json()
    assert [item["current"] for item in remaining["items"]] == [True]

    no_scope = await client.delete("/api/v1/auth/sessions", headers=laptop.headers())
    assert no_scope.status_code == 422
    wrong_scope = await client.delete(
        "/api/v1/auth/sessions", params={"scope": "all"}, headers=laptop.headers()
    )
    assert wrong_scope.status_code == 422


async def test_session_routes_need_a_session_not_an_api_key(client, owner_engine):
    account = await account_with_password(owner_engine)
    key = await insert_api_key(owner_engine, account.workspace_id, account.user_id)
    for method, path in (
        ("GET", "/api/v1/auth/sessions"),
        ("POST", "/api/v1/auth/logout"),
        ("DELETE", f"/api/v1/auth/sessions/{new_id()}"),
        ("DELETE", "/api/v1/auth/sessions?scope=others"),
    ):
        response = await client.request(method, path, headers=key.headers())
        assert response.status_code == 403, path
        assert response.json()["code"] == "session_required"
        anonymous = await client.request(method, path)
        assert anonymous.status_code == 401, path


async def test_expired_sessions_are_refused_and_live_ones_are_touched(client, owner_engine):
    account = await account_with_password(owner_engine)
    now = datetime.now(UTC)
    idle = await insert_signed_in_session(
        owner_engine,
        account.user_id,
        account.workspace_id,
        created_at=now - timedelta(days=20),
        last_seen_at=now - timedelta(days=15),
    )
    old = await insert_signed_in_session(
        owner_engine,
        account.user_id,
        account.workspace_id,
        created_at=now - timedelta(days=31),
        last_seen_at=now - timedelta(minutes=5),
    )
    stale = await insert_signed_in_session(
        owner_engine,
        account.user_id,
        account.workspace_id,
        created_at=now - timedelta(days=2),
        last_seen_at=now - timedelta(minutes=5),
    )
    for session in (idle, old):
        response = await client.get("/api/v1/workspace", headers=session.headers())
        assert response.status_code == 401

    assert (await client.get("/api/v1/workspace", headers=stale.headers())).status_code == 200
    seen = await scalar(
        owner_engine, "SELECT last_seen_at FROM sessions WHERE id = :s", s=stale.session_id
    )
    assert seen > now - timedelta(seconds=30)
    # A second request within the minute writes nothing.
    assert (await client.get("/api/v1/workspace", headers=stale.headers())).status_code == 200
    assert seen == await scalar(
        owner_engine, "SELECT last_seen_at FROM sessions WHERE id = :s", s=stale.session_id
    )


async def test_the_workspace_header_picks_one_of_the_users_workspaces(client, owner_engine):
    account = await account_with_password(owner_engine, "Home Co")
    second = await insert_account(owner_engine, workspace_name="Second Co")
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO memberships (workspace_id, user_id, role) VALUES (:w, :u, 'viewer')"),
            {"w": second.workspace_id, "u": account.user_id},
        )
    foreign = await insert_account(owner_engine, workspace_name="Foreign Co")
    signed_in = await log_in(client, account.email)
    assert signed_in.body["current_workspace_id"] == str(account.workspace_id)

    default = await client.get("/api/v1/workspace", headers=signed_in.headers())
    assert default.json()["name"] == "Home Co"
    picked = await client.get(
        "/api/v1/workspace",
        headers={**signed_in.headers(), "X-Workspace-Id": str(second.workspace_id)},
    )
    assert picked.status_code == 200
    assert picked.json()["name"] == "Second Co"
    for header in (str(foreign.workspace_id), str(new_id()), "acme"):
        response = await client.get(
            "/api/v1/workspace", headers={**signed_in.headers(), "X-Workspace-Id": header}
        )
        assert response.status_code == 404, header
        assert response.json()["code"] == "workspace_not_found"


async def test_api_keys_act_as_their_creator_with_the_current_role(client, owner_engine):
    account = await account_with_password(owner_engine, "Keyed Co")
    key = await insert_api_key(owner_engine, account.workspace_id, account.user_id)
    ok = await client.get("/api/v1/workspace", headers=key.headers())
    assert ok.status_code == 200
    assert ok.json()["id"] == str(account.workspace_id)
    used = await scalar(
        owner_engine, "SELECT last_used_at FROM api_keys WHERE id = :k", k=key.key_row_id
    )
    assert used is not None

    other = await insert_account(owner_engine, workspace_name="Other Co")
    crossing = await client.get(
        "/api/v1/workspace",
        headers={**key.headers(), "X-Workspace-Id": str(other.workspace_id)},
    )
    assert crossing.status_code == 404

    prefix, key_id, secret = key.key.split("_")
    wrong_secret = f"{prefix}_{key_id}_{'0' * 64 if secret != '0' * 64 else '1' * 64}"
    for header in (
        f"Bearer {wrong_secret}",
        f"Bearer sk_{'a' * 16}_{'b' * 64}",
        "Bearer not-a-key",
        "Bearer ",
        f"Basic {key.key}",
    ):
        response = await client.get("/api/v1/workspace", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["code"] == "unauthenticated"

    # Demoted: the key acts with the creator's role of now; removed: the key stops working.
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("UPDATE memberships SET role = 'viewer' WHERE user_id = :u AND workspace_id = :w"),
            {"u": account.user_id, "w": account.workspace_id},
        )
    as_viewer = await client.post("/api/v1/api-keys", json={"name": "x"}, headers=key.headers())
    assert as_viewer.status_code == 403
    assert as_viewer.json()["code"] == "insufficient_role"
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM memberships WHERE user_id = :u AND workspace_id = :w"),
            {"u": account.user_id, "w": account.workspace_id},
        )
    gone = await client.get("/api/v1/workspace", headers=key.headers())
    assert gone.status_code == 401

    revoked = await insert_api_key(owner_engine, other.workspace_id, other.user_id)
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE id = :k"),
            {"k": revoked.key_row_id},
        )
    assert (await client.get("/api/v1/workspace", headers=revoked.headers())).status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{oops", 400, "malformed_json"),
        (b'{"email": "a@acme.io", "password": "x", "remember": true}', 422, "validation_failed"),
        (b'{"email": "a@acme.io", "password": 12}', 422, "validation_failed"),
        (b'{"email": "nope", "password": "whatever it is"}', 422, "invalid_email"),
        (b'{"password": "whatever it is"}', 422, "validation_failed"),
    ],
)
async def test_bad_login_input_is_a_problem(client, body, status, code):
    response = await client.post(
        "/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_session_ids_in_the_list_are_uuids(client, owner_engine):
    account = await account_with_password(owner_engine)
    signed_in = await log_in(client, account.email)
    items = (await client.get("/api/v1/auth/sessions", headers=signed_in.headers())).json()["items"]
    assert [UUID(item["id"]) for item in items]
    assert items[0]["created_at"].endswith("Z")
