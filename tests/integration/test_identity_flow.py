"""The whole identity flow over HTTP, as a user meets it:

signup → confirm (the token read from the dev outbox's .eml) → login → /me → onboarding 1–4 →
API key → a Bearer call → the key revoked (401) → logout (the cookie is 401 from then on).
"""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import msgspec
from litestar.testing import AsyncTestClient

from scaliyo.adapters.settings import Environment
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app

PASSWORD = "flow passphrase of some length"


def outbox_token(outbox: Path, to: str, kind: str, label: str) -> str:
    """The token in the newest ``kind`` mail to ``to`` in the dev outbox."""
    for path in sorted(outbox.glob(f"*-{kind}-*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == to:
            body = message.get_content()
            match = re.search(rf"^{label}: (\S+)$", body, re.MULTILINE)
            assert match, body
            return match.group(1)
    raise AssertionError(f"no {kind} mail to {to} in {outbox}")


async def test_signup_to_logout_over_http(settings, tmp_path):
    settings = msgspec.structs.replace(settings, env=Environment.TEST, data_dir=tmp_path)
    address = "flow.founder@flow-test.example.com"
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        signup = await client.post(
            "/api/v1/auth/signup", json={"email": address, "password": PASSWORD}
        )
        assert signup.status_code == 201, signup.text
        early = await client.post(
            "/api/v1/auth/login", json={"email": address, "password": PASSWORD}
        )
        assert (early.status_code, early.json()["code"]) == (403, "email_not_confirmed")

        token = outbox_token(tmp_path / "outbox", address, "confirmation", "Confirmation token")
        confirmed = await client.post("/api/v1/auth/confirm", json={"token": token})
        assert confirmed.status_code in (200, 204), confirmed.text

        login = await client.post(
            "/api/v1/auth/login", json={"email": address, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        assert "scaliyo_session" in client.cookies
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}

        me = await client.get("/api/v1/me")
        assert me.status_code == 200, me.text
        body = me.json()
        assert body["user"]["email"] == address and body["user"]["platform_role"] == "CLIENT"
        assert len(body["workspaces"]) == 1 and body["workspaces"][0]["role"] == "owner"
        workspace = body["current_workspace"]
        assert workspace == body["workspaces"][0]

        # a signed-up workspace starts on its trial: Starter's limits and 1,000 credits
        subscription = (await client.get("/api/v1/billing/subscription")).json()
        assert (subscription["plan"]["code"], subscription["status"]) == ("starter", "trialing")
        assert (await client.get("/api/v1/credits")).json()["available"] == 1000
        assert body["onboarding"] == {"current_step": 1, "completed": False}

        refused = await client.put(
            "/api/v1/onboarding/1", json={"role": "founder", "team_size": "1"}
        )
        assert (refused.status_code, refused.json()["code"]) == (403, "csrf_failed")
        steps = {
            1: {"role": "founder", "team_size": "1"},
            2: {"company_name": "Flow Test", "website": "flow-test.example.com"},
            3: {"primary_goal": "leads"},
            4: {},
        }
        for step, data in steps.items():
            saved = await client.put(f"/api/v1/onboarding/{step}", json=data, headers=csrf)
            assert saved.status_code == 200, saved.text
        me = (await client.get("/api/v1/me")).json()
        assert me["onboarding"]["completed"] is True

        created = await client.post("/api/v1/api-keys", json={"name": "flow"}, headers=csrf)
        assert created.status_code == 201, created.text
        key = created.json()["key"]

        # The key alone (no cookie) acts as its creator in its workspace.
        cookies = dict(client.cookies)
        client.cookies.clear()
        bearer = {"Authorization": f"Bearer {key}"}
        seen = await client.get("/api/v1/workspace", headers=bearer)
        assert seen.status_code == 200, seen.text
        assert seen.json()["id"] == workspace["id"]
        as_key = (await client.get("/api/v1/me", headers=bearer)).json()
        assert as_key["user"]["email"] == address
        listed = await client.get("/api/v1/api-keys", headers=bearer)
        assert key not in listed.text and key[:20] in listed.text
        client.cookies.update(cookies)

        revoked = await client.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=csrf)
        assert revoked.status_code == 204
        client.cookies.clear()
        after = await client.get("/api/v1/workspace", headers=bearer)
        assert (after.status_code, after.json()["code"]) == (401, "unauthenticated")
        client.cookies.update(cookies)

        logout = await client.post("/api/v1/auth/logout", headers=csrf)
        assert logout.status_code in (200, 204), logout.text
        client.cookies.update(cookies)  # a client that kept the old cookie anyway
        gone = await client.get("/api/v1/me")
        assert (gone.status_code, gone.json()["code"]) == (401, "unauthenticated")
