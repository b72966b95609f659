"""Workspace administration over HTTP: status codes, problem codes and bodies.

Most requests are authenticated by the test header authenticator (``X-Test-User`` +
``X-Workspace-Id``, the role read from the real membership); switching workspaces signs in for
real (a session), and ``test_identity_flow`` runs the whole flow with real credentials.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from scaliyo.application.identity.workspace_admin import CreateApiKey
from scaliyo.application.identity.workspace_ports import FixedSeats
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.integration.helpers.identity import (
    IdentityOverrides,
    MemoryMailer,
    as_user,
    identity_bus,
    insert_member,
    insert_team,
    insert_user,
    role_of,
)

PROBLEM = "application/problem+json"


@pytest.fixture
def seats() -> FixedSeats:
    return FixedSeats(4)


@pytest.fixture
def mailer() -> MemoryMailer:
    return MemoryMailer()


@pytest.fixture
async def client(settings, seats, mailer) -> AsyncIterator[AsyncTestClient]:
    app = create_app(
        SettingsProvider(settings), IdentityOverrides(seats=seats, mailer=mailer, header_auth=True)
    )
    async with AsyncTestClient(app=app) as client:
        yield client


@pytest.fixture
async def team(owner_engine) -> tuple[UUID, dict[str, UUID]]:
    return await insert_team(owner_engine, "Http Co", "owner", "admin", "member", "viewer")


def who(user_id: UUID, workspace_id: UUID) -> dict[str, str]:
    return {"X-Test-User": str(user_id), "X-Workspace-Id": str(workspace_id)}


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code, body
    return body


# --- the workspace ----------------------------------------------------------------------------


async def test_patch_workspace(client, team):
    ws, users = team
    admin, viewer = who(users["admin"], ws), who(users["viewer"], ws)
    problem(
        await client.patch("/api/v1/workspace", json={"name": "X"}, headers=viewer),
        403,
        "insufficient_role",
    )
    body = problem(
        await client.patch("/api/v1/workspace", json={"nmae": "X"}, headers=admin),
        422,
        "validation_failed",
    )
    assert [e["field"] for e in body["errors"]] == ["nmae"]
    body = problem(
        await client.patch("/api/v1/workspace", json={"name": "\x07bell"}, headers=admin),
        422,
        "validation_failed",
    )
    assert body["errors"][0]["field"] == "name"
    untouched = await client.patch("/api/v1/workspace", json={}, headers=admin)
    assert untouched.status_code == 200 and untouched.json()["name"] == "Http Co"
    renamed = await client.patch("/api/v1/workspace", json={"name": " Http  Two "}, headers=admin)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Http Two"
    assert (await client.get("/api/v1/workspace", headers=viewer)).json()["name"] == "Http Two"


# --- members --------------------------------------------------------------------------------


async def test_members_roles_and_removal(client, team, owner_engine):
    ws, users = team
    owner, admin = who(users["owner"], ws), who(users["admin"], ws)
    listed = await client.get("/api/v1/members", headers=who(users["viewer"], ws))
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert {m["role"] for m in items} == {"owner", "admin", "member", "viewer"}
    assert set(items[0]) == {"user_id", "email", "role", "joined_at"}

    viewer_url = f"/api/v1/members/{users['viewer']}"
    problem(
        await client.patch(viewer_url, json={"role": "member"}, headers=admin),
        403,
        "insufficient_role",
    )
    body = problem(
        await client.patch(viewer_url, json={"role": "emperor"}, headers=owner),
        422,
        "validation_failed",
    )
    assert body["errors"][0]["field"] == "role"
    changed = await client.patch(viewer_url, json={"role": "member"}, headers=owner)
    assert changed.status_code == 200 and changed.json()["role"] == "member"
    problem(
        await client.patch(
            f"/api/v1/members/{users['owner']}", json={"role": "admin"}, headers=owner
        ),
        409,
        "last_owner",
    )
    problem(
        await client.delete(f"/api/v1/members/{users['owner']}", headers=admin),
        403,
        "insufficient_role",
    )
    removed = await client.delete(viewer_url, headers=admin)
    assert removed.status_code == 204
    assert await role_of(owner_engine, ws, users["viewer"]) is None
    problem(await client.delete(viewer_url, headers=admin), 404, "member_not_found")
    left = await client.delete(
        f"/api/v1/members/{users['member']}", headers=who(users["member"], ws)
    )
    assert left.status_code == 204


# --- invites --------------------------------------------------------------------------------


async def test_invites_within_seats_and_accepting(client, team, seats, mailer, owner_engine):
    ws, users = team  # 4 members, 4 seats
    admin = who(users["admin"], ws)
    body = {"email": "new.person@http.example.com", "role": "member"}
    problem(
        await client.post("/api/v1/invites", json=body, headers=admin), 409, "seat_limit_reached"
    )
    seats.seats = 6
    problem(
        await client.post("/api/v1/invites", json=body, headers=who(users["member"], ws)),
        403,
        "insufficient_role",
    )
    problem(
        await client.post("/api/v1/invites", json={**body, "role": "owner"}, headers=admin),
        422,
        "validation_failed",
    )
    problem(
        await client.post("/api/v1/invites", json={**body, "email": "nope"}, headers=admin),
        422,
        "invalid_email",
    )
    created = await client.post("/api/v1/invites", json=body, headers=admin)
    assert created.status_code == 201, created.text
    invite = created.json()
    assert invite["status"] == "pending" and invite["role"] == "member"
    token = mailer.invite_token("new.person@http.example.com")
    assert token not in created.text
    listed = (await client.get("/api/v1/invites", headers=admin)).json()["items"]
    assert [i["id"] for i in listed] == [invite["id"]] and token not in str(listed)

    problem(
        await client.post("/api/v1/invites/accept", json={"token": "forged"}),
        400,
        "invalid_token",
    )
    weak = await client.post("/api/v1/invites/accept", json={"token": token, "password": "short"})
    problem(weak, 422, "weak_password")
    accepted = await client.post(
        "/api/v1/invites/accept", json={"token": token, "password": "a long enough passphrase"}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["workspace"] == {"id": str(ws), "name": "Http Co", "role": "member"}
    assert accepted.json()["account_created"] is True
    problem(
        await client.post(
            "/api/v1/invites/accept", json={"token": token, "password": "a long enough passphrase"}
        ),
        400,
        "invalid_token",
    )
    new_user = UUID(accepted.json()["user_id"])
    assert await role_of(owner_engine, ws, new_user) == "member"


async def test_revoking_an_invite_kills_its_token(client, team, seats, mailer):
    ws, users = team
    seats.seats = 10
    admin = who(users["admin"], ws)
    created = await client.post(
        "/api/v1/invites", json={"email": "gone@http.example.com", "role": "viewer"}, headers=admin
    )
    token = mailer.invite_token("gone@http.example.com")
    revoked = await client.delete(f"/api/v1/invites/{created.json()['id']}", headers=admin)
    assert revoked.status_code == 204
    problem(
        await client.post("/api/v1/invites/accept", json={"token": token, "password": "x" * 12}),
        400,
        "invalid_token",
    )


async def test_accepting_for_an_existing_account_needs_that_account(
    client, owner_engine, mailer, seats
):
    seats.seats = 10
    ws, users = await insert_team(owner_engine, "Host Co", "owner")
    other_ws, others = await insert_team(owner_engine, "Guest Co", "owner", "member")
    async with owner_engine.connect() as conn:
        guest_email = (
            await conn.execute(
                text("SELECT email FROM users WHERE id = :id"), {"id": others["owner"]}
            )
        ).scalar()
    created = await client.post(
        "/api/v1/invites",
        json={"email": guest_email, "role": "admin"},
        headers=who(users["owner"], ws),
    )
    assert created.status_code == 201
    token = mailer.invite_token(guest_email)
    problem(
        await client.post("/api/v1/invites/accept", json={"token": token, "password": "x" * 12}),
        401,
        "sign_in_required",
    )
    problem(
        await client.post(
            "/api/v1/invites/accept",
            json={"token": token},
            headers=who(others["member"], other_ws),
        ),
        403,
        "invite_for_another_account",
    )
    accepted = await client.post(
        "/api/v1/invites/accept", json={"token": token}, headers=who(others["owner"], other_ws)
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["account_created"] is False
    assert await role_of(owner_engine, ws, others["owner"]) == "admin"


# --- API keys -------------------------------------------------------------------------------


async def test_api_keys_are_shown_once_and_admin_only(client, team):
    ws, users = team
    admin = who(users["admin"], ws)
    for role in ("viewer", "member"):
        problem(
            await client.post("/api/v1/api-keys", json={"name": "x"}, headers=who(users[role], ws)),
            403,
            "insufficient_role",
        )
    problem(
        await client.post("/api/v1/api-keys", json={"name": ""}, headers=admin),
        422,
        "validation_failed",
    )
    created = await client.post("/api/v1/api-keys", json={"name": "CI"}, headers=admin)
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "name", "key", "created_at"}
    key = body["key"]
    assert key.startswith("sk_") and len(key) == 3 + 16 + 1 + 64
    listed = await client.get("/api/v1/api-keys", headers=admin)
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert item["prefix"] == key[: 3 + 16 + 1] + "…"
    assert "key" not in item and key[20:] not in listed.text
    assert (await client.delete(f"/api/v1/api-keys/{body['id']}", headers=admin)).status_code == 204
    assert (await client.get("/api/v1/api-keys", headers=admin)).json()["items"] == []


# --- onboarding -----------------------------------------------------------------------------


async def test_onboarding_over_http(client, team):
    ws, users = team
    admin = who(users["admin"], ws)
    fresh = await client.get("/api/v1/onboarding", headers=who(users["viewer"], ws))
    assert fresh.status_code == 200 and fresh.json() == {"current_step": 1, "completed": False}

    body = problem(
        await client.put(
            "/api/v1/onboarding/1", json={"role": "ceo", "team_size": "1"}, headers=admin
        ),
        422,
        "validation_failed",
    )
    assert [e["field"] for e in body["errors"]] == ["role"]
    body = problem(
        await client.put("/api/v1/onboarding/1", json={"role": "founder"}, headers=admin),
        422,
        "validation_failed",
    )
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("team_size", "required")]
    body = problem(
        await client.put("/api/v1/onboarding/2", json={"company_name": 5}, headers=admin),
        422,
        "validation_failed",
    )
    assert [e["field"] for e in body["errors"]] == ["company_name"]
    body = problem(
        await client.put(
            "/api/v1/onboarding/3", json={"primary_goal": "leads", "x": 1}, headers=admin
        ),
        422,
        "validation_failed",
    )
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("x", "unknown_field")]
    problem(
        await client.put("/api/v1/onboarding/9", json={}, headers=admin), 422, "validation_failed"
    )
    problem(
        await client.put("/api/v1/onboarding/1", content=b"{nope", headers=admin),
        400,
        "malformed_json",
    )
    problem(
        await client.put("/api/v1/onboarding/4", json={}, headers=admin),
        409,
        "onboarding_incomplete",
    )
    problem(
        await client.put(
            "/api/v1/onboarding/3", json={"primary_goal": "leads"}, headers=who(users["member"], ws)
        ),
        403,
        "insufficient_role",
    )

    steps = {
        1: {"role": "founder", "team_size": "2-10"},
        2: {"company_name": "Http Co", "website": "http.example.com", "industry": "Software"},
        3: {"primary_goal": "outreach"},
        4: {},
    }
    for step, data in steps.items():
        saved = await client.put(f"/api/v1/onboarding/{step}", json=data, headers=admin)
        assert saved.status_code == 200, saved.text
    done = saved.json()
    assert done["completed"] is True and done["current_step"] == 5
    assert done["company"]["website"] == "https://http.example.com"
    assert done["role"] == steps[1] and done["goal"] == steps[3]


# --- /me --------------------------------------------------------------------------------------


async def test_me(client, team):
    ws, users = team
    me = await client.get("/api/v1/me", headers=who(users["member"], ws))
    assert me.status_code == 200
    body = me.json()
    assert body["user"]["id"] == str(users["member"])
    assert body["user"]["platform_role"] == "CLIENT" and body["user"]["is_super_admin"] is False
    assert body["workspaces"] == [{"id": str(ws), "name": "Http Co", "role": "member"}]
    assert body["current_workspace"] == {"id": str(ws), "name": "Http Co", "role": "member"}
    assert body["onboarding"] == {"current_step": 1, "completed": False}


# --- with real sign-in ------------------------------------------------------------------------


async def test_switching_the_current_workspace_of_a_session(settings, owner_engine, database):
    ws_a, _ = await insert_team(owner_engine, "Switch A", "owner")
    ws_b, _ = await insert_team(owner_engine, "Switch B", "owner")
    ws_c, _ = await insert_team(owner_engine, "Switch C", "owner")
    email = f"switcher-{ws_a.hex[-10:]}@example.com"
    user = await insert_user(owner_engine, email, password="switch passphrase")
    await insert_member(owner_engine, ws_a, user, "admin")
    await insert_member(owner_engine, ws_b, user, "viewer")
    bus = identity_bus(database, seats=FixedSeats(10))
    key = await bus.execute(CreateApiKey(name="k"), as_user(user, ws_a, "admin"))
    app = create_app(
        SettingsProvider(settings),
        IdentityOverrides(seats=FixedSeats(10), mailer=MemoryMailer(), header_auth=False),
    )
    async with AsyncTestClient(app=app) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": "switch passphrase"}
        )
        assert login.status_code == 200, login.text
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        for target in (ws_c, "not-a-uuid"):
            problem(
                await client.put(
                    "/api/v1/me/workspace", json={"workspace_id": str(target)}, headers=csrf
                ),
                404,
                "workspace_not_found",
            )
        switched = await client.put(
            "/api/v1/me/workspace", json={"workspace_id": str(ws_b)}, headers=csrf
        )
        assert switched.status_code == 200, switched.text
        assert switched.json() == {"id": str(ws_b), "name": "Switch B", "role": "viewer"}
        me = (await client.get("/api/v1/me")).json()
        assert me["current_workspace"]["id"] == str(ws_b)
        assert [w["name"] for w in me["workspaces"]] == ["Switch A", "Switch B"]
        # The viewer role now applies: keys are admin business.
        problem(
            await client.post("/api/v1/api-keys", json={"name": "x"}, headers=csrf),
            403,
            "insufficient_role",
        )
        client.cookies.clear()
        problem(
            await client.put(
                "/api/v1/me/workspace",
                json={"workspace_id": str(ws_b)},
                headers={"Authorization": f"Bearer {key.key}"},
            ),
            403,
            "session_required",
        )
