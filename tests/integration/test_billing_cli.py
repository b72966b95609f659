"""Operator CLI: ``scaliyo workspace set-plan`` and ``scaliyo credits grant``, audited."""

from __future__ import annotations

import pytest

from tests.integration.helpers.billing import billing_bus, new_workspace, scalar
from tests.integration.helpers.cli import cli_env, scaliyo


@pytest.fixture
def env(settings) -> dict[str, str]:
    return cli_env(settings)


async def test_set_plan_and_grant_credits_from_the_cli(env, database, owner_engine):
    workspace_id = str(await new_workspace(billing_bus(database), "CLI Billing"))

    code, out, err = await scaliyo(env, "workspace", "set-plan", workspace_id, "growth")
    assert code == 0, err
    assert out.startswith("activated: growth (active)") and "credits added: 6000" in out
    code, out, err = await scaliyo(env, "workspace", "set-plan", workspace_id, "enterprise-x")
    assert code == 1 and "plan_not_found" in err

    args = ("credits", "grant", workspace_id, "500", "--reason", "launch promo")
    code, out, err = await scaliyo(env, *args, "--operation-id", "promo-1")
    assert code == 0, err
    assert out.strip() == "granted (promo-1); available: 6500"
    code, out, _ = await scaliyo(env, *args, "--operation-id", "promo-1")
    assert out.strip() == "already granted (promo-1); available: 6500"
    code, _, err = await scaliyo(env, "credits", "grant", workspace_id, "5")
    assert code == 2 and "--reason" in err

    audit = await scalar(
        owner_engine,
        "SELECT string_agg(action || ':' || actor, ',' ORDER BY at) FROM audit_log "
        "WHERE workspace_id = :ws AND action <> 'workspace.created'",
        ws=workspace_id,
    )
    assert audit == "subscription.plan_set:operator,credits.granted:operator"
    reason = await scalar(
        owner_engine,
        "SELECT reason FROM credit_ledger WHERE workspace_id = :ws AND kind = 'manual_grant'",
        ws=workspace_id,
    )
    assert reason == "launch promo"
