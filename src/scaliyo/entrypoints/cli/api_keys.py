"""``scaliyo api-key create EMAIL``: an API key for a user, made through the bus as that user.

The user's role rules apply as for ``POST /api/v1/api-keys`` (admins and owners). The workspace
is ``--workspace``, else the user's last workspace, else their only one.
"""

from __future__ import annotations

import sys
from uuid import UUID

import click

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.adapters.settings import Settings
from scaliyo.application.bus import Actor, ActorKind, Bus, Context
from scaliyo.application.identity.ports import AccountDirectory, WorkspaceMembership
from scaliyo.application.identity.workspace_admin import CreateApiKey, CreatedApiKeyView
from scaliyo.domain.identity.emails import normalize_email
from scaliyo.domain.shared.errors import DomainError
from scaliyo.entrypoints.container import build_container


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _choose(
    memberships: list[WorkspaceMembership], wanted: UUID | None, last: UUID | None
) -> WorkspaceMembership:
    by_id = {m.workspace_id: m for m in memberships}
    if wanted is not None:
        if wanted not in by_id:
            _fail(f"workspace_not_found: the user is not a member of workspace {wanted}.")
        return by_id[wanted]
    if last is not None and last in by_id:
        return by_id[last]
    if len(memberships) == 1:
        return memberships[0]
    if not memberships:
        _fail("workspace_not_found: the user belongs to no workspace.")
    choices = ", ".join(f"{m.workspace_id} ({m.name})" for m in memberships)
    _fail(f"workspace_required: the user is in several workspaces; pass --workspace: {choices}")
    raise AssertionError  # unreachable: _fail exits


async def create_api_key(
    settings: Settings, email: str, workspace_id: UUID | None, name: str
) -> CreatedApiKeyView:
    container = build_container(settings=settings)
    try:
        bus = await container.get(Bus)
        database = await container.get(Database)
        directory = await container.get(AccountDirectory)
        try:
            address = normalize_email(email)
        except DomainError as error:
            _fail(f"{error.code}: {error.detail}")
        # users carry no tenant policy: a unit of work without a tenant reads them.
        async with SqlUnitOfWork(database.app, None) as uow:
            user = await uow.users.by_email(address)
        if user is None:
            _fail(f"user_not_found: no user with the address {address}.")
        assert user is not None
        membership = _choose(
            await directory.workspaces_of(user.id), workspace_id, user.last_workspace_id
        )
        context = Context(
            request_id=f"cli-{new_id()}",
            actor=Actor(ActorKind.USER, id=user.id, workspace_role=membership.role.value),
            workspace_id=membership.workspace_id,
        )
        try:
            return await bus.execute(CreateApiKey(name=name), context)
        except DomainError as error:
            _fail(f"{error.code}: {error.detail}")
            raise AssertionError from error  # unreachable: _fail exits
    finally:
        await container.close()
