"""``scaliyo user create``: a confirmed user with a workspace it owns, then signing in as it."""

from __future__ import annotations

import asyncio
import json
from uuid import UUID

from click.testing import CliRunner

from scaliyo.entrypoints.cli.main import cli
from tests.integration.helpers.auth import (
    PASSWORD,
    auth_app,
    auth_settings,
    client_of,
    log_in,
    new_email,
    scalar,
)
from tests.integration.helpers.cli import cli_env, scaliyo


async def test_user_create_makes_a_confirmed_owner_who_can_sign_in(
    settings, tmp_path, owner_engine
):
    env = cli_env(settings, SCALIYO_ENV="test", SCALIYO_DATA_DIR=str(tmp_path))
    address = new_email("operator")
    code, out, err = await scaliyo(
        env,
        "user",
        "create",
        address,
        "--role",
        "admin",
        "--super",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, err
    created = json.loads(out.strip().splitlines()[-1])
    user_id, workspace_id = UUID(created["user_id"]), UUID(created["workspace_id"])

    user = await scalar(owner_engine, "SELECT row_to_json(u) FROM users u WHERE id = :u", u=user_id)
    assert user["email"] == address
    assert user["platform_role"] == "ADMIN"
    assert user["is_super_admin"] is True
    assert user["email_confirmed_at"] is not None
    role = await scalar(
        owner_engine,
        "SELECT role FROM memberships WHERE user_id = :u AND workspace_id = :w",
        u=user_id,
        w=workspace_id,
    )
    assert role == "owner"

    async with client_of(auth_app(auth_settings(settings, tmp_path))) as client:
        signed_in = await log_in(client, address)
        assert signed_in.body["current_workspace_id"] == str(workspace_id)
        assert signed_in.body["user"]["platform_role"] == "ADMIN"
        assert signed_in.body["user"]["is_super_admin"] is True


async def test_user_create_refuses_bad_input(settings, tmp_path):
    env = cli_env(settings, SCALIYO_ENV="test", SCALIYO_DATA_DIR=str(tmp_path))
    runner = CliRunner()

    async def run(*args: str, stdin: str = PASSWORD):
        # In-process (a thread: the command runs its own event loop), to keep the suite fast.
        return await asyncio.to_thread(
            runner.invoke, cli, ["user", "create", *args], input=stdin, env=env
        )

    taken = new_email("taken")
    assert (await run(taken, "--password-stdin")).exit_code == 0
    cases = [
        ((taken, "--password-stdin"), PASSWORD, 1, "email_taken"),
        ((new_email(), "--password-stdin"), "short\n", 1, "weak_password"),
        (("not-an-address", "--password-stdin"), PASSWORD, 1, "invalid_email"),
        ((new_email(), "--super", "--password-stdin"), PASSWORD, 1, "validation_failed"),
        ((new_email(),), PASSWORD, 2, "--password-stdin"),
        ((new_email(), "--role", "owner", "--password-stdin"), PASSWORD, 2, "--role"),
    ]
    for args, stdin, expected_code, expected_error in cases:
        result = await run(*args, stdin=stdin)
        assert result.exit_code == expected_code, (args, result.output)
        assert expected_error in result.stderr, (args, result.stderr)
        assert result.stdout == ""
