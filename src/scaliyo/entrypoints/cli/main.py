"""The ``scaliyo`` command: production processes, the dev stack and operator commands."""

from __future__ import annotations

import asyncio
import sys

import click

from scaliyo.adapters.settings import SettingsError, load_settings


def settings_or_exit():
    try:
        return load_settings()
    except SettingsError as error:
        click.echo(f"configuration error: {error}", err=True)
        sys.exit(2)


@click.group()
def cli() -> None:
    """Scaliyo: outbound sales, end to end."""


@cli.command()
@click.option("--revision", default="head", show_default=True)
def migrate(revision: str) -> None:
    """Create the roles and bring the schema to REVISION (DATABASE_URL: a role-creating login)."""
    from scaliyo.adapters.persistence import migrate as migrations

    settings = settings_or_exit()
    try:
        settings.require_database()
    except SettingsError as error:
        click.echo(f"configuration error: {error}", err=True)
        sys.exit(2)
    asyncio.run(migrations.upgrade(settings.bootstrap_url(), revision))
    click.echo(f"database at {migrations.head_revision() if revision == 'head' else revision}")


@cli.command()
def api() -> None:
    """Serve the HTTP API on SCALIYO_HOST:SCALIYO_PORT."""
    from scaliyo.entrypoints.http.serve import serve

    serve(settings_or_exit())


@cli.command()
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(["ai-generation", "data-processing"]),
    help="Queues to work (default: all). Repeat for several.",
)
@click.option(
    "--import",
    "imports",
    multiple=True,
    metavar="MODULE",
    help="Also import MODULE (it may register job types and consumers).",
)
def worker(queues: tuple[str, ...], imports: tuple[str, ...]) -> None:
    """Run jobs, the outbox relay and the event consumers."""
    from scaliyo.entrypoints.worker.main import run_worker

    run_worker(settings_or_exit(), queues=list(queues), imports=list(imports))


@cli.command()
def scheduler() -> None:
    """Run the cron schedules (exactly one instance per deployment)."""
    from scaliyo.entrypoints.scheduler.main import run_scheduler

    run_scheduler(settings_or_exit())


@cli.command()
def dev() -> None:
    """Everything on one machine: embedded PostgreSQL and NATS, API, worker and scheduler."""
    from scaliyo.entrypoints.dev.supervisor import run_dev

    run_dev()


@cli.group()
def workspace() -> None:
    """Operator commands on workspaces."""


@workspace.command("create")
@click.argument("name")
def workspace_create(name: str) -> None:
    """Create a workspace named NAME and print its id."""
    from scaliyo.entrypoints.cli.operator import create_workspace

    settings = settings_or_exit()
    view = asyncio.run(create_workspace(settings, name))
    click.echo(view.id)


if __name__ == "__main__":
    cli()
