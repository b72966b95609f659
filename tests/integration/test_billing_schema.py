"""Migration 0010: seeded plans equal the domain's catalogue, existing workspaces start a trial,
plans are read-only to requests, and billing rows are isolated per workspace."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from scaliyo.adapters.persistence import migrate
from scaliyo.adapters.persistence.plan_repository import SqlPlanRepository
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.domain.billing.plans import STANDARD_PLANS
from scaliyo.domain.usage.counters import Check, Metric
from tests.conftest import recreate_database
from tests.integration.helpers.billing import billing_bus, new_workspace

BILLING_REVISION = "0010"


async def test_the_seeded_plans_are_the_standard_catalogue(database):
    async with database.app.connect() as conn:
        seeded = await SqlPlanRepository(conn).list_public()
    standard = {plan.code: plan for plan in STANDARD_PLANS}
    assert {plan.code: plan for plan in seeded if plan.code in standard} == standard


async def test_requests_read_plans_but_cannot_change_them(database):
    async with database.app.connect() as conn:
        with pytest.raises(DBAPIError, match="permission denied"):
            await conn.execute(text("UPDATE plans SET monthly_price_cents = 0"))
    async with database.app.connect() as conn:
        with pytest.raises(DBAPIError, match="permission denied"):
            await conn.execute(text("DELETE FROM plans WHERE code = 'scale'"))


async def test_billing_rows_are_invisible_to_another_workspace(database):
    bus = billing_bus(database)
    a, b = await new_workspace(bus, "A"), await new_workspace(bus, "B")
    async with SqlUnitOfWork(database.app, a) as uow:
        await uow.limits.admit(Check(metric=Metric.CONTACTS, amount=7), at=datetime.now(UTC))
        await uow.credit_ledger.reserve("lead_scoring", 1, "a-only", now=datetime.now(UTC))
        await uow.commit()
    async with SqlUnitOfWork(database.app, b) as uow:
        for table in ("subscriptions", "credit_balances", "credit_ledger", "usage_counters"):
            rows = await uow.connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE workspace_id = :a"), {"a": a}
            )
            assert rows.scalar() == 0, table
        assert await uow.credit_ledger.open_reservations() == (0, 0)
        assert (await uow.credit_ledger.balance()).available == 1_000
        assert await uow.limits.current(datetime.now(UTC)) == []
        moved = await uow.connection.execute(
            text("UPDATE credit_balances SET purchased = purchased + 1000 WHERE workspace_id = :a"),
            {"a": a},
        )
        assert moved.rowcount == 0


async def test_workspaces_made_before_billing_start_a_trial(server_url):
    url = await recreate_database(server_url, "scaliyo_billing_backfill")
    bootstrap = make_url(url)
    await migrate.upgrade(bootstrap, "0002")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO workspaces (id, name) VALUES "
                    "('00000000-0000-7000-8000-000000000001', 'Old Co')"
                )
            )
        await migrate.upgrade(bootstrap, BILLING_REVISION)
        async with engine.connect() as conn:
            sub = (await conn.execute(text("SELECT * FROM subscriptions"))).one()
            balance = (await conn.execute(text("SELECT * FROM credit_balances"))).one()
            ledger = (await conn.execute(text("SELECT kind, amount FROM credit_ledger"))).all()
            forced = (
                await conn.execute(
                    text("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'workspaces'")
                )
            ).scalar()
        assert (sub.plan_code, sub.status, sub.source) == ("starter", "trialing", "trial")
        assert (sub.trial_end - sub.current_period_start).days == 14
        assert (balance.allowance, balance.period_granted, balance.reserved) == (1_000, 1_000, 0)
        assert [tuple(row) for row in ledger] == [("grant", 1_000)]
        assert forced is True
    finally:
        await engine.dispose()
