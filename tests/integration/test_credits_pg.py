"""The credit ledger on PostgreSQL: concurrency, idempotency, trial end, expiry, grants."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from scaliyo.adapters.clock import SystemClock
from scaliyo.adapters.persistence.credit_accounts import SqlCreditAccounts
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.adapters.queue.billing_schedules import end_due_trials, expire_reservations
from scaliyo.adapters.settings import APP_ROLE
from scaliyo.domain.billing.subscriptions import TrialEnded
from scaliyo.domain.credits.ledger import (
    InsufficientCredits,
    OperationIdReused,
    ReservationClosed,
    ReservationStatus,
)
from tests.integration.helpers.billing import (
    MovableClock,
    billing_bus,
    fund,
    new_workspace,
    scalar,
)

REPETITIONS = 20
ATTEMPTS = 200
BALANCE = 100
POOL = 40


@pytest.fixture
async def pool(settings) -> AsyncEngine:
    """A dedicated pool of 40 app connections (well under max_connections = 100)."""
    engine = create_async_engine(settings.role_url(APP_ROLE), pool_size=POOL, max_overflow=0)
    yield engine
    await engine.dispose()


@pytest.fixture
def bus(database):
    return billing_bus(database)


async def test_200_concurrent_reservations_against_100_credits_admit_exactly_100(
    bus, database, pool, owner_engine
):
    accounts = SqlCreditAccounts(pool, SystemClock())
    for repetition in range(REPETITIONS):
        workspace_id = await new_workspace(bus, f"Race {repetition}")
        await fund(database, workspace_id, BALANCE)
        credits = accounts.for_workspace(workspace_id)

        async def reserve(n: int, credits=credits, repetition=repetition):
            try:
                return await credits.reserve("lead_scoring", 300, f"race-{repetition}-{n}")
            except InsufficientCredits:
                return None

        results = await asyncio.gather(*(reserve(n) for n in range(ATTEMPTS)))
        held = [r for r in results if r is not None]
        assert len(held) == BALANCE, f"repetition {repetition}"
        balance = await credits.balance()
        assert (balance.available, balance.reserved) == (0, BALANCE)
        assert (
            await scalar(
                owner_engine,
                "SELECT count(*) FROM credit_reservations WHERE workspace_id = :ws",
                ws=workspace_id,
            )
            == BALANCE
        )
        # ...and settling them all at once charges each exactly once.
        settled = await asyncio.gather(*(credits.settle(r, 300) for r in held))
        assert {s.charged for s in settled} == {1}
        balance = await credits.balance()
        assert (balance.available, balance.reserved, balance.period_spent) == (0, 0, BALANCE)
        assert (
            await scalar(
                owner_engine,
                "SELECT count(*) FROM credit_ledger WHERE workspace_id = :ws AND kind = 'charge'",
                ws=workspace_id,
            )
            == BALANCE
        )


async def test_a_retried_reserve_settle_or_release_has_no_second_effect(bus, database, pool):
    workspace_id = await new_workspace(bus)
    await fund(database, workspace_id, 50)
    credits = SqlCreditAccounts(pool, SystemClock()).for_workspace(workspace_id)

    first = await credits.reserve("email_sequence", 4_000, "job-7:step-1")
    again = await credits.reserve("email_sequence", 4_000, "job-7:step-1")
    assert again.id == first.id and first.credits == 5
    racing = await asyncio.gather(
        *(credits.reserve("email_sequence", 4_000, "job-7:step-2") for _ in range(12))
    )
    assert len({r.id for r in racing}) == 1
    assert (await credits.balance()).reserved == 10
    with pytest.raises(OperationIdReused):
        await credits.reserve("lead_scoring", 10, "job-7:step-1")

    settled = await credits.settle(first, 1_700)
    assert (settled.status, settled.charged) == (ReservationStatus.SETTLED, 3)
    assert (await credits.settle(first, 4_000)).charged == 3  # the retry changes nothing
    assert await credits.release(first) is False
    assert (await credits.balance()).available == 50 - 3 - 5

    assert await credits.release(racing[0]) is True
    assert await credits.release(racing[0]) is False
    with pytest.raises(ReservationClosed):
        await credits.settle(racing[0], 100)
    balance = await credits.balance()
    assert (balance.available, balance.reserved, balance.period_spent) == (47, 0, 3)


async def test_a_charge_is_capped_at_its_reservation(bus, database, pool, owner_engine):
    workspace_id = await new_workspace(bus)
    credits = SqlCreditAccounts(pool, SystemClock()).for_workspace(workspace_id)
    held = await credits.reserve("content_generation", 800, "under-estimated")
    settled = await credits.settle(held, 800 * 50)  # the provider used far more than asked
    assert settled.charged == held.credits == 2
    assert (await credits.balance()).available == 1_000 - 2


async def test_hard_stop_at_zero(bus, database, pool):
    workspace_id = await new_workspace(bus)
    await fund(database, workspace_id, 4)
    credits = SqlCreditAccounts(pool, SystemClock()).for_workspace(workspace_id)
    with pytest.raises(InsufficientCredits) as refused:
        await credits.reserve("batch_generation", 100, "too-big")
    assert (refused.value.required, refused.value.available) == (5, 4)
    assert (await credits.balance()).reserved == 0


async def test_the_trial_end_job_stops_ai_work_for_an_unpaid_workspace(bus, database, pool):
    workspace_id = await new_workspace(bus)
    other = await new_workspace(bus)
    await fund(database, other, 10)
    credits = SqlCreditAccounts(pool, SystemClock()).for_workspace(workspace_id)
    open_before = await credits.reserve("lead_research", 100, "in-flight")

    later = MovableClock(datetime.now(UTC) + timedelta(days=14, minutes=1))
    assert await end_due_trials(database, later) >= 1
    assert await end_due_trials(database, later) == 0  # once
    with pytest.raises(TrialEnded) as refused:
        await credits.reserve("lead_scoring", 10, "after-the-trial")
    assert refused.value.code == "trial_ended"
    balance = await credits.balance()
    # The unused allowance expired; the reservation made before the end is still held.
    assert (balance.allowance, balance.reserved, balance.available) == (2, 2, 0)
    assert (await credits.settle(open_before, 900)).charged == 2

    async with SqlUnitOfWork(database.app, workspace_id) as uow:
        subscription = await uow.subscriptions.get()
    assert (subscription.status.value, subscription.ended_reason.value) == (
        "canceled",
        "trial_ended",
    )


async def test_expired_reservations_are_released_by_the_job(bus, database, pool):
    workspace_id = await new_workspace(bus)
    credits = SqlCreditAccounts(pool, SystemClock(), ttl=timedelta(minutes=5)).for_workspace(
        workspace_id
    )
    crashed = await credits.reserve("blog_content", 10_000, "worker-died")
    fresh = SqlCreditAccounts(pool, SystemClock(), ttl=timedelta(hours=1)).for_workspace(
        workspace_id
    )
    alive = await fresh.reserve("blog_content", 10_000, "worker-alive")
    assert (await credits.balance()).reserved == 26

    later = MovableClock(datetime.now(UTC) + timedelta(minutes=6))
    assert await expire_reservations(database, later) >= 1
    assert await expire_reservations(database, later) == 0
    assert (await credits.balance()).reserved == 13
    with pytest.raises(ReservationClosed):
        await credits.settle(crashed, 100)
    assert (await fresh.settle(alive, 100)).charged == 3


async def test_a_period_is_granted_once_however_many_ask_at_once(bus, database, owner_engine):
    workspace_id = await new_workspace(bus)
    start = datetime.now(UTC) + timedelta(seconds=1)

    async def grant() -> int | None:
        async with SqlUnitOfWork(database.app, workspace_id) as uow:
            expired = await uow.credit_ledger.start_period(
                start=start, end=start + timedelta(days=30), grant=6_000, now=start
            )
            await uow.commit()
            return expired

    results = await asyncio.gather(*(grant() for _ in range(8)))
    assert sorted(results, key=lambda r: r is None) == [1_000, *[None] * 7]
    grants = await scalar(
        owner_engine,
        "SELECT count(*) FROM credit_ledger WHERE workspace_id = :ws AND kind = 'grant'",
        ws=workspace_id,
    )
    assert grants == 2  # the trial's, and this period's once
    async with SqlUnitOfWork(database.app, workspace_id) as uow:
        balance = await uow.credit_ledger.balance()
        total = await scalar(
            owner_engine,
            "SELECT sum(amount) FROM credit_ledger WHERE workspace_id = :ws",
            ws=workspace_id,
        )
    assert balance.available == total == 6_000
