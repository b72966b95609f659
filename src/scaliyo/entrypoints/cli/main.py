"""The ``scaliyo`` command: production processes, the dev stack and operator commands."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

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


@workspace.command("set-plan")
@click.argument("workspace_id", metavar="WORKSPACE", type=click.UUID)
@click.argument("plan")
@click.option(
    "--interval",
    type=click.Choice(["month", "year"]),
    default="month",
    show_default=True,
    help="The billing interval when the plan starts (a trial or an ended subscription).",
)
def workspace_set_plan(workspace_id, plan: str, interval: str) -> None:
    """Put WORKSPACE on PLAN (audited): upgrades at once, downgrades at the period's end."""
    from scaliyo.domain.billing.plans import Interval
    from scaliyo.entrypoints.cli.billing import set_plan

    result = asyncio.run(set_plan(settings_or_exit(), workspace_id, plan, Interval(interval)))
    sub = result.subscription
    pending = f", {sub.pending_plan} from {sub.current_period_end}" if sub.pending_plan else ""
    click.echo(
        f"{result.outcome}: {sub.plan.code} ({sub.status}){pending}; "
        f"credits added: {result.credits_added}"
    )


@cli.group()
def credits() -> None:
    """Operator commands on AI credits."""


@credits.command("grant")
@click.argument("workspace_id", metavar="WORKSPACE", type=click.UUID)
@click.argument("amount", metavar="N", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why (kept in the audit log and the ledger).")
@click.option(
    "--operation-id",
    default=None,
    help="Makes the grant once-only: running it again with the same id adds nothing.",
)
def credits_grant(workspace_id, amount: int, reason: str, operation_id: str | None) -> None:
    """Grant N kept (non-expiring) AI credits to WORKSPACE (audited)."""
    from scaliyo.entrypoints.cli.billing import grant_credits

    result = asyncio.run(
        grant_credits(settings_or_exit(), workspace_id, amount, reason, operation_id)
    )
    verb = "granted" if result.granted else "already granted"
    click.echo(f"{verb} ({result.operation_id}); available: {result.available}")


@cli.group()
def leads() -> None:
    """Operator commands on leads."""


@leads.command("import")
@click.argument(
    "path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--workspace", "workspace_id", type=click.UUID, required=True)
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='JSON: {"CSV column": "field" or null} or the API\'s [{"index", "field"}] list '
    "(default: the proposed mapping).",
)
@click.option(
    "--policy",
    type=click.Choice(["skip", "fill_empty", "overwrite"]),
    default="skip",
    show_default=True,
    help="What a row matching an existing lead does.",
)
@click.option("--tag", "tags", multiple=True, help="Tag every imported lead (repeatable).")
def leads_import(path: Path, workspace_id, mapping_path, policy: str, tags) -> None:
    """Import the CSV FILE into WORKSPACE's leads, with a progress bar and the counts."""
    from scaliyo.entrypoints.cli.lead_import import import_command

    import_command(settings_or_exit(), workspace_id, path, mapping_path, policy, list(tags))


@cli.group("api-key")
def api_key() -> None:
    """API keys for users (the key is printed once)."""


@api_key.command("create")
@click.argument("email")
@click.option("--workspace", "workspace_id", type=click.UUID, help="The workspace of the key.")
@click.option("--name", default="cli", show_default=True, help="A name to recognise the key by.")
def api_key_create(email: str, workspace_id, name: str) -> None:
    """Create an API key acting as the user EMAIL; print it (it is shown only this once)."""
    from scaliyo.entrypoints.cli.api_keys import create_api_key

    settings = settings_or_exit()
    created = asyncio.run(create_api_key(settings, email, workspace_id, name))
    click.echo(
        f"API key {created.id} ({created.name}): store it now, it is not shown again.", err=True
    )
    click.echo(created.key)


@cli.group()
def user() -> None:
    """Operator commands on user accounts."""


@user.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["client", "admin"]),
    default="client",
    show_default=True,
    help="The platform role.",
)
@click.option("--super", "is_super", is_flag=True, help="A super admin (with --role admin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (required).")
def user_create(email: str, role: str, is_super: bool, password_stdin: bool) -> None:
    """Create a confirmed user EMAIL with a workspace it owns; print the ids as JSON."""
    import json

    from scaliyo.entrypoints.cli.users import create_user, read_password

    if not password_stdin:
        raise click.UsageError("pass the password on stdin with --password-stdin")
    settings = settings_or_exit()
    password = read_password(sys.stdin)
    created = asyncio.run(
        create_user(settings, email, role=role, is_super_admin=is_super, password=password)
    )
    click.echo(json.dumps({"user_id": created.user_id, "workspace_id": created.workspace_id}))


if __name__ == "__main__":
    cli()
