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

from scaliyo.adapters.ids import UuidV7Factory, new_id
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.application.identity.workspace_admin import CreateApiKey, CreateInvite
from scaliyo.application.identity.workspace_ports import FixedSeats
from scaliyo.application.leads.filters import LeadFilter
from scaliyo.application.leads.import_ports import ImportRecord, ImportStatus, UploadRecord
from scaliyo.application.leads.ports import Segment
from scaliyo.application.leads.workspace_data import pipeline_of
from scaliyo.domain.jobs.job import Job, Queue
from scaliyo.domain.leads.attributes import LeadSource
from scaliyo.domain.leads.column_mapping import ColumnChoice
from scaliyo.domain.leads.imports import DuplicatePolicy
from scaliyo.domain.leads.lead import Lead, LeadId
from scaliyo.domain.leads.profile import LeadInput, normalise_lead
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
    ("POST", "/api/v1/webhooks/stripe"),  # authenticated by its Stripe-Signature instead
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
    ("POST", "/api/v1/billing/checkout"): {"plan": "growth", "interval": "month"},
    ("POST", "/api/v1/leads"): {"email": "route.table@example.com"},
    ("PATCH", "/api/v1/leads/{lead_id}"): {"title": "Route table"},
    ("POST", "/api/v1/leads/bulk"): {"action": "tag", "ids": [str(uuid4())], "tags": ["route"]},
    ("POST", "/api/v1/segments"): {"name": "Route table"},
    ("PATCH", "/api/v1/segments/{segment_id}"): {"name": "Renamed"},
    ("POST", "/api/v1/pipeline/stages"): {"name": "Route table", "color": "#123456"},
    ("PATCH", "/api/v1/pipeline/stages/{stage_id}"): {"name": "Renamed"},
    ("PUT", "/api/v1/settings/icp"): {"titles": ["Route table"]},
    ("PUT", "/api/v1/settings/custom-fields"): {"fields": []},
    ("POST", "/api/v1/leads/imports"): {"upload_id": str(uuid4())},
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
    lead, segment, stage = await lead_objects(database, ws_a)
    lead_upload, lead_import = await import_object(database, ws_a)

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
        "lead_id": lambda: str(lead),
        "segment_id": lambda: str(segment),
        "stage_id": lambda: str(stage),
        "import_id": lambda: str(lead_import),
        "upload_id": lambda: str(lead_upload),
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
                    " (SELECT count(*) FROM jobs WHERE id = :j),"
                    " (SELECT title IS NULL AND deleted_at IS NULL FROM leads WHERE id = :l),"
                    " (SELECT name FROM lead_segments WHERE id = :sg),"
                    " (SELECT name FROM pipeline_stages WHERE id = :st),"
                    " (SELECT status FROM lead_imports WHERE id = :im),"
                    " (SELECT purged_at IS NULL FROM lead_uploads WHERE id = :up)"
                ),
                {
                    "ws": ws_a,
                    "m": a["member"],
                    "i": UUID(invite.id),
                    "k": UUID(key.id),
                    "s": session_a,
                    "j": job.id,
                    "l": lead,
                    "sg": segment,
                    "st": stage,
                    "im": lead_import,
                    "up": lead_upload,
                },
            )
        ).one()
    assert tuple(state) == (
        "member",
        True,
        True,
        True,
        1,
        True,
        "A's segment",
        "New",
        "queued",
        True,
    )


async def lead_objects(database, workspace_id: UUID) -> tuple[UUID, UUID, UUID]:
    """A lead, a segment and the first pipeline stage of a workspace (written directly: the
    workspace was made without a plan, and these are only targets here)."""
    ids = UuidV7Factory()
    now = datetime.now(UTC)
    async with SqlUnitOfWork(database.app, WorkspaceId(workspace_id)) as uow:
        pipeline = await pipeline_of(uow, ids)
        lead, _ = Lead.create(
            id=LeadId(ids.new()),
            workspace_id=WorkspaceId(workspace_id),
            profile=normalise_lead(LeadInput(email="route.a@example.com")),
            source=LeadSource.MANUAL,
            pipeline=pipeline,
            now=now,
        )
        await uow.leads.add(lead)
        segment = Segment(
            id=ids.new(),
            name="A's segment",
            filters=LeadFilter(),
            created_by=None,
            created_at=now,
            updated_at=now,
        )
        await uow.segments.add(segment)
        await uow.commit()
    return lead.id, segment.id, pipeline.first.id


async def import_object(database, workspace_id: UUID) -> tuple[UUID, UUID]:
    """An upload and a queued import of a workspace (written directly, as targets): their
    ids."""
    ids = UuidV7Factory()
    now = datetime.now(UTC)
    upload = UploadRecord(
        id=ids.new(),
        workspace_id=workspace_id,
        blob_key=f"{workspace_id}/upload/route-table",
        filename="a.csv",
        size=10,
        sha256="",
        encoding="utf-8",
        delimiter=",",
        has_header=True,
        columns=("email",),
        mapping=(ColumnChoice(index=0, column="email", field="email", confidence=1.0),),
        row_estimate=1,
        created_by=None,
        created_at=now,
    )
    record = ImportRecord(
        id=ids.new(),
        workspace_id=workspace_id,
        upload_id=upload.id,
        job_id=None,
        status=ImportStatus.QUEUED,
        mapping=upload.mapping,
        duplicate_policy=DuplicatePolicy.SKIP,
        tags=(),
        chunk_rows=100,
        created_by=None,
        created_at=now,
    )
    async with SqlUnitOfWork(database.app, WorkspaceId(workspace_id)) as uow:
        await uow.lead_imports.add_upload(upload)
        await uow.lead_imports.add(record)
        await uow.commit()
    return upload.id, record.id
