"""Operator commands run through the bus like any other caller, as the OPERATOR actor."""

from __future__ import annotations

import sys

import click

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.settings import Settings
from scaliyo.application.bus import OPERATOR, Bus, Context
from scaliyo.application.identity.commands import CreateWorkspace, WorkspaceView
from scaliyo.domain.shared.errors import DomainError
from scaliyo.entrypoints.container import build_container


async def create_workspace(settings: Settings, name: str) -> WorkspaceView:
    container = build_container(settings=settings)
    try:
        bus = await container.get(Bus)
        context = Context(request_id=f"cli-{new_id()}", actor=OPERATOR)
        try:
            return await bus.execute(CreateWorkspace(name=name), context)
        except DomainError as error:
            click.echo(f"{error.code}: {error.detail}", err=True)
            sys.exit(1)
    finally:
        await container.close()
