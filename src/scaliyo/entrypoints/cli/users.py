"""``scaliyo user create``: a confirmed account with a workspace it owns, made by an operator
through the bus (the OPERATOR actor), like any other caller."""

from __future__ import annotations

import sys

import click

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.settings import Settings
from scaliyo.application.bus import OPERATOR, Bus, Context
from scaliyo.application.identity.auth import CreatedUser, CreateUser
from scaliyo.domain.shared.errors import DomainError
from scaliyo.entrypoints.container import build_container


async def create_user(
    settings: Settings, email: str, *, role: str, is_super_admin: bool, password: str
) -> CreatedUser:
    container = build_container(settings=settings)
    try:
        bus = await container.get(Bus)
        context = Context(request_id=f"cli-{new_id()}", actor=OPERATOR)
        command = CreateUser(
            email=email, password=password, platform_role=role, is_super_admin=is_super_admin
        )
        try:
            return await bus.execute(command, context)
        except DomainError as error:
            problems = "; ".join(f"{e.field}: {e.message}" for e in error.errors)
            click.echo(
                f"{error.code}: {error.detail}" + (f" ({problems})" if problems else ""), err=True
            )
            sys.exit(1)
    finally:
        await container.close()


def read_password(stream) -> str:
    """The first line of ``stream`` without its line break (a password may hold spaces)."""
    line = stream.readline()
    return line[:-1] if line.endswith("\n") else line
