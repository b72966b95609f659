"""``scaliyo api-key create EMAIL``: the key is printed once; role rules apply as over HTTP."""

from __future__ import annotations

from sqlalchemy import text

from scaliyo.adapters.crypto.tokens import RandomTokens
from scaliyo.domain.identity.api_keys import parse_key
from tests.integration.helpers.cli import cli_env, scaliyo
from tests.integration.helpers.identity import insert_member, insert_team


async def email_of(engine, user_id) -> str:
    async with engine.connect() as conn:
        return (
            await conn.execute(text("SELECT email FROM users WHERE id = :id"), {"id": user_id})
        ).scalar_one()


async def test_api_key_create_prints_a_working_key_once(settings, owner_engine):
    env = cli_env(settings)
    ws, users = await insert_team(owner_engine, "Cli Keys", "owner", "viewer")
    owner_email = await email_of(owner_engine, users["owner"])

    code, out, err = await scaliyo(
        env, "api-key", "create", owner_email.upper(), "--name", "deploy"
    )
    assert code == 0, err
    key = out.strip()
    parsed = parse_key(key)
    assert parsed is not None and "not shown again" in err
    key_id, secret = parsed
    async with owner_engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT * FROM api_keys WHERE key_id = :k"), {"k": key_id})
        ).one()
    assert row.workspace_id == ws and row.created_by == users["owner"] and row.name == "deploy"
    assert row.secret_hash == RandomTokens().digest(secret)

    code, _, err = await scaliyo(
        env, "api-key", "create", await email_of(owner_engine, users["viewer"])
    )
    assert code == 1 and "insufficient_role" in err
    code, _, err = await scaliyo(env, "api-key", "create", "nobody@cli.example.com")
    assert code == 1 and "user_not_found" in err


async def test_api_key_create_asks_which_workspace_when_there_are_several(settings, owner_engine):
    env = cli_env(settings)
    _, users = await insert_team(owner_engine, "Cli A", "owner")
    ws_b, _ = await insert_team(owner_engine, "Cli B", "owner")
    await insert_member(owner_engine, ws_b, users["owner"], "admin")
    email = await email_of(owner_engine, users["owner"])

    code, _, err = await scaliyo(env, "api-key", "create", email)
    assert code == 1 and "--workspace" in err
    code, out, err = await scaliyo(env, "api-key", "create", email, "--workspace", str(ws_b))
    assert code == 0, err
    key_id = out.strip().split("_")[1]
    async with owner_engine.connect() as conn:
        workspace = (
            await conn.execute(
                text("SELECT workspace_id FROM api_keys WHERE key_id = :k"), {"k": key_id}
            )
        ).scalar_one()
    assert workspace == ws_b
