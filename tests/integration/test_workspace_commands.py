"""The bus on real PostgreSQL: a command's rows and its outbox event commit together."""

from __future__ import annotations

from uuid import UUID

import pytest
from sqlalchemy import text

from scaliyo.adapters.clock import SystemClock
from scaliyo.adapters.ids import UuidV7Factory
from scaliyo.adapters.persistence.unit_of_work import unit_of_work_factory
from scaliyo.application.bus import OPERATOR, Bus, Context, default_middleware
from scaliyo.application.identity.commands import CreateWorkspace, GetWorkspace
from scaliyo.application.registry import build_handlers
from scaliyo.domain.shared.errors import ValidationFailed
from tests.integration.helpers.cli import cli_env, scaliyo


@pytest.fixture
def bus(database) -> Bus:
    return Bus(
        build_handlers(clock=SystemClock(), ids=UuidV7Factory()),
        unit_of_work_factory(database.app),
        default_middleware(),
    )


async def test_create_workspace_writes_row_and_event_in_one_transaction(bus, owner_engine):
    view = await bus.execute(
        CreateWorkspace(name="Northwind"), Context(request_id="t", actor=OPERATOR)
    )
    async with owner_engine.connect() as conn:
        name = (
            await conn.execute(text("SELECT name FROM workspaces WHERE id = :id"), {"id": view.id})
        ).scalar()
        events = (
            await conn.execute(
                text("SELECT message_type, subject, payload FROM outbox WHERE aggregate_id = :id"),
                {"id": view.id},
            )
        ).all()
        audit = (
            await conn.execute(
                text("SELECT actor, action FROM audit_log WHERE workspace_id = :id"),
                {"id": view.id},
            )
        ).all()
    assert name == "Northwind"
    assert [tuple(row) for row in audit] == [("operator", "workspace.created")]
    assert [(e.message_type, e.subject) for e in events] == [
        ("workspace.created", "scaliyo.events.workspace.created")
    ]
    assert events[0].payload["type"] == "workspace.created"
    assert events[0].payload["version"] == 1

    seen = await bus.execute(GetWorkspace(), Context(request_id="t", workspace_id=UUID(view.id)))
    assert seen.name == "Northwind"


async def test_a_refused_command_writes_nothing(bus, owner_engine):
    async with owner_engine.connect() as conn:
        before = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar()
    with pytest.raises(ValidationFailed):
        await bus.execute(CreateWorkspace(name="x" * 500), Context(request_id="t"))
    async with owner_engine.connect() as conn:
        after = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar()
    assert after == before


async def test_operator_cli_creates_a_workspace(settings, owner_engine):
    env = cli_env(settings)
    code, out, _ = await scaliyo(env, "workspace", "create", "CLI Co")
    assert code == 0
    workspace_id = UUID(out.strip().splitlines()[-1])

    code, _, err = await scaliyo(env, "workspace", "create", "  ")
    assert code == 1
    assert "validation_failed" in err

    code, _, err = await scaliyo({**env, "SCALIYO_PORT": "nope"}, "workspace", "create", "X")
    assert code == 2
    assert "SCALIYO_PORT" in err

    async with owner_engine.connect() as conn:
        name = (
            await conn.execute(
                text("SELECT name FROM workspaces WHERE id = :id"), {"id": workspace_id}
            )
        ).scalar()
    assert name == "CLI Co"
