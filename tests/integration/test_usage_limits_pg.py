"""The limits port on PostgreSQL: concurrent checks, all-or-nothing, plan limits, sending."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from scaliyo.adapters.persistence.plan_repository import plan_values
from scaliyo.adapters.persistence.tables import plans
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.adapters.queue.billing_schedules import end_due_trials
from scaliyo.adapters.settings import APP_ROLE
from scaliyo.application.billing.limits import plan_limit
from scaliyo.domain.billing.plans import GROWTH, Plan
from scaliyo.domain.billing.subscriptions import TrialEnded
from scaliyo.domain.usage.counters import Check, LimitReached, Metric
from tests.integration.helpers.billing import (
    MovableClock,
    billing_bus,
    new_workspace,
    scalar,
    set_plan,
)


@pytest.fixture
async def pool(settings) -> AsyncEngine:
    engine = create_async_engine(settings.role_url(APP_ROLE), pool_size=20, max_overflow=0)
    yield engine
    await engine.dispose()


@pytest.fixture
def bus(database):
    return billing_bus(database)


async def admit(engine, workspace_id, *checks: Check, at: datetime | None = None) -> bool:
    """One transaction that checks and commits (a creation that counts)."""
    async with SqlUnitOfWork(engine, workspace_id) as uow:
        try:
            await uow.limits.admit(*checks, at=at or datetime.now(UTC))
        except LimitReached:
            return False
        await uow.commit()
        return True


async def used(engine: AsyncEngine, workspace_id, metric: Metric) -> int:
    return await scalar(
        engine,
        "SELECT coalesce(sum(used), 0) FROM usage_counters WHERE workspace_id = :ws "
        "AND metric = :metric",
        ws=workspace_id,
        metric=metric.value,
    )


async def test_20_concurrent_seat_additions_against_3_seats_admit_exactly_3(
    bus, pool, owner_engine
):
    for repetition in range(5):
        workspace_id = await new_workspace(bus, f"Seats {repetition}")
        await set_plan(bus, workspace_id, "growth")  # 3 seats
        results = await asyncio.gather(
            *(admit(pool, workspace_id, Check(metric=Metric.SEATS)) for _ in range(20))
        )
        assert results.count(True) == 3, f"repetition {repetition}"
        assert await used(owner_engine, workspace_id, Metric.SEATS) == 3


async def test_checks_made_together_are_admitted_all_or_none(bus, database, owner_engine):
    workspace_id = await new_workspace(bus)  # trial: Starter's limits, 1 seat
    assert await admit(database.app, workspace_id, Check(metric=Metric.SEATS))
    assert not await admit(
        database.app,
        workspace_id,
        Check(metric=Metric.CONTACTS, amount=10),
        Check(metric=Metric.SEATS),
    )
    assert await used(owner_engine, workspace_id, Metric.CONTACTS) == 0
    async with SqlUnitOfWork(database.app, workspace_id) as uow:
        with pytest.raises(LimitReached) as refused:
            await uow.limits.admit(
                Check(metric=Metric.CONTACTS, amount=1_001), at=datetime.now(UTC)
            )
        assert (refused.value.metric, refused.value.limit) == (Metric.CONTACTS, 1_000)
        # the transaction is still usable after a refusal (it ran in a savepoint)
        await uow.limits.admit(Check(metric=Metric.CONTACTS, amount=1_000), at=datetime.now(UTC))
        await uow.commit()
    assert await used(owner_engine, workspace_id, Metric.CONTACTS) == 1_000


async def test_every_metric_is_held_to_the_plan_limit_the_views_show(bus, database, owner_engine):
    """The SQL limit of each metric is ``plan_limit`` of the plan (they are kept apart)."""
    code = f"probe-{datetime.now(UTC).strftime('%H%M%S%f')}"
    limits = msgspec.structs.replace(
        GROWTH.limits,
        contacts=7,
        seats=2,
        storage_mb=1,
        emails_per_day=5,
        emails_per_month=9,
        linkedin_actions_per_day=3,
        linkedin_actions_per_month=4,
    )
    custom = Plan(
        code=code,
        name="Probe",
        monthly_price_cents=99_900,
        limits=limits,
        features=GROWTH.features,
        public=False,
    )
    async with database.system.begin() as conn:
        await conn.execute(plans.insert().values(**plan_values(custom)))
    workspace_id = await new_workspace(bus)
    await set_plan(bus, workspace_id, code)
    at = datetime.now(UTC)
    for metric in Metric:
        limit = plan_limit(metric, limits)
        if limit is None:
            continue
        assert await admit(database.app, workspace_id, Check(metric=metric, amount=limit), at=at)
        assert not await admit(database.app, workspace_id, Check(metric=metric), at=at), metric
    async with SqlUnitOfWork(database.app, workspace_id) as uow:
        current = {v.metric: v.used for v in await uow.limits.current(at)}
    assert current[Metric.STORAGE_BYTES] == 1_000_000 and current[Metric.EMAILS_MONTHLY] == 9


async def test_a_senders_own_cap_and_day(bus, database):
    workspace_id = await new_workspace(bus)
    at = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # already 1 December in Berlin
    check = Check(
        metric=Metric.SENDER_EMAILS_DAILY, subject="sender-1", limit=2, time_zone="Europe/Berlin"
    )
    async with SqlUnitOfWork(database.app, workspace_id) as uow:
        # sending needs a running trial at ``at``: move the trial's end past it
        await uow.connection.execute(
            text("UPDATE subscriptions SET trial_end = :end"), {"end": at + timedelta(days=1)}
        )
        await uow.commit()
    assert await admit(database.app, workspace_id, check, at=at)
    assert await admit(database.app, workspace_id, check, at=at)
    assert not await admit(database.app, workspace_id, check, at=at)
    async with SqlUnitOfWork(database.app, workspace_id) as uow:
        (sender,) = [v for v in await uow.limits.current(at) if v.subject == "sender-1"]
    assert (sender.period, sender.used, sender.last_limit) == ("2026-12-01", 2, 2)


async def test_sending_stops_when_the_trial_ends_and_data_may_still_grow(bus, database):
    workspace_id = await new_workspace(bus)
    assert await admit(database.app, workspace_id, Check(metric=Metric.EMAILS_DAILY))
    later = MovableClock(datetime.now(UTC) + timedelta(days=15))
    await end_due_trials(database, later)
    async with SqlUnitOfWork(database.app, workspace_id) as uow:
        with pytest.raises(TrialEnded):
            await uow.limits.admit(Check(metric=Metric.EMAILS_DAILY), at=later.now())
        with pytest.raises(TrialEnded):
            await uow.limits.admit(Check(metric=Metric.LINKEDIN_ACTIONS_DAILY), at=later.now())
        await uow.limits.admit(Check(metric=Metric.CONTACTS, amount=3), at=later.now())
        await uow.commit()


async def test_giving_back_and_reconciling_a_gauge(bus, database, owner_engine):
    workspace_id = await new_workspace(bus)
    now = datetime.now(UTC)
    async with SqlUnitOfWork(database.app, workspace_id) as uow:
        await uow.limits.admit(Check(metric=Metric.CONTACTS, amount=5), at=now)
        await uow.limits.give_back(Metric.CONTACTS, 2, at=now)
        await uow.limits.give_back(Metric.CONTACTS, 50, at=now)  # never below zero
        await uow.commit()
    assert await used(owner_engine, workspace_id, Metric.CONTACTS) == 0
    async with SqlUnitOfWork(database.app, workspace_id) as uow:
        await uow.limits.set_used(Metric.CONTACTS, 999, at=now)
        await uow.commit()
    assert await admit(database.app, workspace_id, Check(metric=Metric.CONTACTS))
    assert not await admit(database.app, workspace_id, Check(metric=Metric.CONTACTS))
