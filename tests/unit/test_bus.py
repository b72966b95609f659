from __future__ import annotations

from typing import ClassVar

import pytest

from scaliyo.application.bus import (
    OPERATOR,
    Bus,
    Command,
    Context,
    UnknownMessage,
    default_middleware,
)
from scaliyo.application.identity.commands import CreateWorkspace, GetWorkspace
from scaliyo.application.registry import build_handlers
from scaliyo.domain.identity.workspace import WorkspaceCreated
from scaliyo.domain.shared.errors import ValidationFailed, WorkspaceRequired
from tests.unit.fakes import FixedClock, InMemoryStore, SequentialIds, fake_uow_factory


def make_bus(store: InMemoryStore, handlers=None, middleware=None) -> Bus:
    return Bus(
        handlers or build_handlers(clock=FixedClock(), ids=SequentialIds()),
        fake_uow_factory(store),
        default_middleware() if middleware is None else middleware,
    )


async def test_create_workspace_commits_the_workspace_and_its_event():
    store = InMemoryStore()
    bus = make_bus(store)
    view = await bus.execute(
        CreateWorkspace(name="  Acme   Sales "), Context(request_id="r1", actor=OPERATOR)
    )
    assert view.name == "Acme Sales"
    assert [w.name for w in store.workspaces.values()] == ["Acme Sales"]
    assert len(store.outbox) == 1
    event = store.outbox[0]
    assert isinstance(event, WorkspaceCreated)
    assert str(event.workspace_id) == view.id
    assert [(a.action, a.actor, str(a.workspace_id)) for a in store.audit] == [
        ("workspace.created", "operator", view.id)
    ]


async def test_a_refused_command_leaves_nothing_behind():
    store = InMemoryStore()
    bus = make_bus(store)
    with pytest.raises(ValidationFailed) as refused:
        await bus.execute(CreateWorkspace(name="   "), Context(request_id="r1"))
    assert refused.value.errors[0].field == "name"
    assert store.workspaces == {} and store.outbox == []


async def test_workspace_scoped_queries_need_a_workspace():
    store = InMemoryStore()
    bus = make_bus(store)
    with pytest.raises(WorkspaceRequired):
        await bus.execute(GetWorkspace(), Context(request_id="r1"))


async def test_queries_see_only_the_request_workspace():
    store = InMemoryStore()
    bus = make_bus(store)
    a = await bus.execute(CreateWorkspace(name="A"), Context(request_id="r"))
    b = await bus.execute(CreateWorkspace(name="B"), Context(request_id="r"))
    from uuid import UUID

    seen = await bus.execute(GetWorkspace(), Context(request_id="r", workspace_id=UUID(a.id)))
    assert seen.id == a.id != b.id


async def test_unknown_message_is_a_programming_error():
    class Orphan(Command, frozen=True, kw_only=True):
        requires_workspace: ClassVar[bool] = False

    with pytest.raises(UnknownMessage):
        await make_bus(InMemoryStore()).execute(Orphan(), Context(request_id="r"))


async def test_middleware_runs_in_order_and_errors_propagate():
    calls: list[str] = []

    def recorder(name):
        async def middleware(message, context, call_next):
            calls.append(f"{name}>")
            try:
                return await call_next(message, context)
            finally:
                calls.append(f"<{name}")

        return middleware

    class Boom(Command, frozen=True, kw_only=True):
        requires_workspace: ClassVar[bool] = False

    async def boom(message, uow, context):
        calls.append("handler")
        raise RuntimeError("kaput")

    store = InMemoryStore()
    bus = Bus({Boom: boom}, fake_uow_factory(store), [recorder("outer"), recorder("inner")])
    with pytest.raises(RuntimeError, match="kaput"):
        await bus.execute(Boom(), Context(request_id="r"))
    assert calls == ["outer>", "inner>", "handler", "<inner", "<outer"]


async def test_uncommitted_work_is_not_kept():
    class Forgetful(Command, frozen=True, kw_only=True):
        requires_workspace: ClassVar[bool] = False

    async def forgetful(message, uow, context):
        from scaliyo.domain.identity.workspace import Workspace

        ws = Workspace.create(id=SequentialIds().new(), name="X", now=FixedClock().now())
        await uow.workspaces.add(ws)
        # no commit

    store = InMemoryStore()
    await Bus({Forgetful: forgetful}, fake_uow_factory(store), []).execute(
        Forgetful(), Context(request_id="r")
    )
    assert store.workspaces == {}
