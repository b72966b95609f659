"""Walks the app's OpenAPI route table, so a new route cannot slip through:

- every route outside the explicit public allow-list answers 401 without credentials;
- every route with a path id answers 404 when a member of workspace B names a real object of
  workspace A, and the object is left as it was.

A new route with a path id or a request body must be added to ``OBJECTS`` / ``BODIES`` below,
or this test fails and says so.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.application.identity.workspace_admin import CreateApiKey, CreateInvite
from scaliyo.application.identity.workspace_ports import FixedSeats
from scaliyo.domain.jobs.job import Job, Queue
from scaliyo.domain.shared.ids import JobId, WorkspaceId
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.integration.helpers.identity import (
    IdentityOverrides,
    MemoryMailer,
    as_user,
    identity_bus,
    insert_member,
    insert_session,
    insert_team,
    insert_user,
)

METHODS = ("get", "put", "post", "patch", "delete")
PASSWORD = "route table passphrase"

# Routes that answer without credentials (or, for accepting an invite, with or without).
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/api/v1/auth/signup"),
    ("POST", "/api/v1/auth/confirm"),
    ("POST", "/api/v1/auth/resend-confirmation"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/password-reset"),
    ("POST", "/api/v1/auth/password-reset/confirm"),
    ("POST", "/api/v1/invites/accept"),
    ("GET", "/api/v1/billing/plans"),  # the pricing page
}

# Path parameters that are not ids of a workspace's objects.
NOT_IDS = {"step"}

# A valid body for each route that takes one, so the request reaches authentication and the
# handler (a 422 for the body would prove nothing).
BODIES: dict[tuple[str, str], object] = {
    ("PATCH", "/api/v1/workspace"): {"name": "Renamed"},
    ("PUT", "/api/v1/me/workspace"): {"workspace_id": str(uuid4())},
    ("PATCH", "/api/v1/members/{user_id}"): {"role": "viewer"},
    ("POST", "/api/v1/invites"): {"email": "route.table@example.com", "role": "viewer"},
    ("POST", "/api/v1/api-keys"): {"name": "route table"},
    ("PUT", "/api/v1/onboarding/{step}"): {"role": "founder", "team_size": "1"},
    ("POST", "/api/v1/auth/logout"): {},
}
# Required query parameters, likewise.
QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("DELETE", "/api/v1/auth/sessions"): {"scope": "others"},
}


def route_table(app: Litestar) -> list[tuple[str, str, bool]]:
    """(method, path template, needs a body or query) of every documented route."""
    routes = []
    for path, item in (app.openapi_schema.paths or {}).items():
        for method in METHODS:
            operation = getattr(item, method)
            if operation is None:
                continue
            required_query = any(
                getattr(p, "param_in", None) == "query" and getattr(p, "required", False)
                for p in operation.parameters or []
            )
            needs_input = operation.request_body is not None or required_query
            routes.append((method.upper(), path, needs_input))
    return routes


async def call(client: AsyncTestClient, method: str, path: str, url: str, **kwargs):
    body = BODIES.get((method, path))
    if body is not None:
        kwargs["json"] = body
    return await client.request(method, url, params=QUERIES.get((method, path)), **kwargs)


def path_params(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


@pytest.fixture
async def app(settings) -> Litestar:
    return create_app(
        SettingsProvider(settings),
        IdentityOverrides(seats=FixedSeats(10), mailer=MemoryMailer(), header_auth=False),
    )


@pytest.fixture
async def client(app) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_every_route_is_public_by_name_or_answers_401_without_credentials(app, client):
    routes = route_table(app)
    assert len(routes) > 20
    missing_inputs = [
        (method, path)
        for method, path, needs_input in routes
        if needs_input and (method, path) not in {*BODIES, *QUERIES, *PUBLIC}
    ]
    assert missing_inputs == [], "add a valid body (BODIES) or query (QUERIES) for these routes"
    answers = {}
    for method, path, _ in routes:
        if (method, path) in PUBLIC:
            continue
        url = fill(
            path, {name: "1" if name in NOT_IDS else str(uuid4()) for name in path_params(path)}
        )
        response = await call(client, method, path, url)
        answers[(method, path)] = (response.status_code, response.json().get("code"))
    wrong = {
        route: answer for route, answer in answers.items() if answer != (401, "unauthenticated")
    }
    assert wrong == {}


async def _sign_in(client: AsyncTestClient, email: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


async def test_ids_of_another_workspace_are_404_and_untouched(app, client, database, owner_engine):
    bus = identity_bus(database, seats=FixedSeats(10))
    # Workspace A: an owner with a second member, an invite, an API key, a job and a session.
    ws_a, a = await insert_team(owner_engine, "Route A", "owner", "member")
    owner_a = as_user(a["owner"], ws_a, "owner")
    invite = await bus.execute(
        CreateInvite(email="invitee@route-a.example.com", role="viewer"), owner_a
    )
    key = await bus.execute(CreateApiKey(name="A's key"), owner_a)
    job = Job.queue_new(
        id=JobId(new_id()),
        workspace_id=WorkspaceId(ws_a),
        queue=Queue.DATA_PROCESSING,
        type="bulk_import",
        params={},
        now=datetime.now(UTC),
    )
    async with SqlUnitOfWork(database.app, WorkspaceId(ws_a)) as uow:
        await uow.jobs.add(job)
        await uow.commit()
    session_a = await insert_session(owner_engine, a["owner"], ws_a)

    # Workspace B: its owner signs in with a session (cookie + CSRF token).
    email_b = f"owner-b-{new_id().hex[-10:]}@example.com"
    owner_b = await insert_user(owner_engine, email_b, password=PASSWORD)
    ws_b, _ = await insert_team(owner_engine, "Route B")
    await insert_member(owner_engine, ws_b, owner_b, "owner")
    csrf = await _sign_in(client, email_b)

    objects: dict[str, Callable[[], str]] = {
        "job_id": lambda: str(job.id),
        "user_id": lambda: str(a["member"]),
        "invite_id": lambda: invite.id,
        "api_key_id": lambda: key.id,
        "session_id": lambda: str(session_a),
    }
    routes = [(m, p, b) for m, p, b in route_table(app) if set(path_params(p)) - NOT_IDS]
    assert len(routes) >= 6
    unknown = {name for _, path, _ in routes for name in path_params(path)} - set(objects) - NOT_IDS
    assert unknown == set(), "say how to make an object of workspace A for these path ids"
    answers = {}
    for method, path, _ in routes:
        url = fill(
            path, {name: "1" if name in NOT_IDS else objects[name]() for name in path_params(path)}
        )
        response = await call(client, method, path, url, headers=csrf)
        answers[(method, path)] = response.status_code
    assert {route: status for route, status in answers.items() if status != 404} == {}

    async with owner_engine.connect() as conn:
        state = (
            await conn.execute(
                text(
                    "SELECT (SELECT role FROM memberships"
                    "        WHERE workspace_id = :ws AND user_id = :m),"
                    " (SELECT revoked_at IS NULL FROM invites WHERE id = :i),"
                    " (SELECT revoked_at IS NULL FROM api_keys WHERE id = :k),"
                    " (SELECT revoked_at IS NULL FROM sessions WHERE id = :s),"
                    " (SELECT count(*) FROM jobs WHERE id = :j)"
                ),
                {
                    "ws": ws_a,
                    "m": a["member"],
                    "i": UUID(invite.id),
                    "k": UUID(key.id),
                    "s": session_a,
                    "j": job.id,
                },
            )
        ).one()
    assert tuple(state) == ("member", True, True, True, 1)
