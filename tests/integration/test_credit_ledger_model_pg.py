"""The SQL ledger against the domain's ``Ledger`` (the rules' pure form), step by step.

Hypothesis drives the same interleaving of grants, reservations (with retried operation ids),
settlements, releases, expiries, top-ups and purchases through both, and after every step the
outcome and the balance must be the same. The property tests of the model
(``tests/unit/test_credit_rules.py``) then hold for the SQL ledger as well.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID, uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.adapters.settings import APP_ROLE
from scaliyo.domain.credits.ledger import (
    EntryKind,
    InsufficientCredits,
    Ledger,
    OperationIdReused,
    ReservationClosed,
)
from scaliyo.domain.credits.operations import Operation
from scaliyo.domain.shared.ids import WorkspaceId
from tests.integration.helpers.billing import MovableClock, billing_bus, new_workspace

REFUSALS = (InsufficientCredits, OperationIdReused, ReservationClosed)


def outcome(call) -> Any:
    try:
        return ("ok", call())
    except REFUSALS as refused:
        return ("refused", type(refused))


class SqlAgreesWithTheModel(RuleBasedStateMachine):
    loop: ClassVar[asyncio.AbstractEventLoop]
    engine: ClassVar[AsyncEngine]
    reservations = Bundle("reservations")

    def __init__(self) -> None:
        super().__init__()
        self.clock = MovableClock(datetime.now(UTC).replace(microsecond=0))
        self.workspace_id = self.run(self._new_workspace())
        self.model = Ledger()
        start = self.clock.now()
        self.model.start_period(start, start + timedelta(days=14), 1_000, start)
        self.last_start = start
        self.sql_ids: dict[UUID, UUID] = {}  # model reservation id -> SQL reservation id

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    async def _new_workspace(self) -> WorkspaceId:
        database = Database(app=self.engine, system=self.engine)
        return await new_workspace(billing_bus(database, self.clock), "Model Co")

    async def _sql(self, work):
        async with SqlUnitOfWork(self.engine, self.workspace_id) as uow:
            try:
                result = ("ok", await work(uow.credit_ledger))
            except REFUSALS as refused:
                return ("refused", type(refused))
            await uow.commit()
            return result

    def sql(self, work) -> Any:
        return self.run(self._sql(work))

    @rule(days=st.integers(1, 40), grant=st.integers(0, 3_000))
    def new_period(self, days, grant):
        start = self.last_start + timedelta(days=days)
        self.last_start = start
        end = start + timedelta(days=30)
        now = self.clock.now()
        expected = outcome(lambda: self.model.start_period(start, end, grant, now))
        got = self.sql(
            lambda ledger: ledger.start_period(start=start, end=end, grant=grant, now=now)
        )
        assert got == expected

    @rule(back=st.integers(0, 60), grant=st.integers(0, 3_000))
    def an_old_or_the_same_period(self, back, grant):
        start = self.last_start - timedelta(days=back)
        now = self.clock.now()
        expected = outcome(lambda: self.model.start_period(start, None, grant, now))
        got = self.sql(
            lambda ledger: ledger.start_period(start=start, end=None, grant=grant, now=now)
        )
        assert got == expected == ("ok", None)

    @rule(target_=st.integers(0, 8_000))
    def upgrade(self, target_):
        start, now = self.last_start, self.clock.now()
        expected = outcome(lambda: self.model.top_up(start, target_, now))
        got = self.sql(lambda ledger: ledger.top_up(start=start, target=target_, now=now))
        assert got == expected

    @rule(amount=st.integers(1, 300), key=st.sampled_from(["order-1", "order-2"]))
    def purchase(self, amount, key):
        now = self.clock.now()
        expected = outcome(lambda: self.model.add_kept(EntryKind.PURCHASE, amount, key, now))
        got = self.sql(
            lambda ledger: ledger.add_kept(
                kind=EntryKind.PURCHASE, amount=amount, operation_id=key, now=now
            )
        )
        assert got == expected

    @rule(
        target=reservations,
        op=st.sampled_from(list(Operation)),
        estimate=st.integers(0, 400_000),
        key=st.integers(0, 12).map(lambda n: f"op-{n}"),
    )
    def reserve(self, op, estimate, key):
        now = self.clock.now()
        expected = outcome(
            lambda: self.model.reserve(
                id=uuid4(), op=op, estimated_tokens=estimate, operation_id=key, now=now
            )
        )
        got = self.sql(lambda ledger: ledger.reserve(op, estimate, key, now=now))
        assert got[0] == expected[0], (got, expected)
        if expected[0] == "refused":
            assert got == expected
            return multiple()
        mine, theirs = expected[1], got[1]
        assert (theirs.credits, theirs.operation, theirs.status) == (
            mine.credits,
            mine.operation,
            mine.status,
        )
        assert self.sql_ids.setdefault(mine.id, theirs.id) == theirs.id
        return mine.id

    @rule(reservation=reservations, used=st.integers(0, 500_000))
    def settle(self, reservation, used):
        now = self.clock.now()
        expected = outcome(lambda: self.model.settle(reservation, used, now))
        got = self.sql(lambda ledger: ledger.settle(self.sql_ids[reservation], used, now=now))
        assert got[0] == expected[0], (got, expected)
        if expected[0] == "ok":
            assert (got[1].charged, got[1].status) == (expected[1].charged, expected[1].status)
        else:
            assert got == expected

    @rule(reservation=reservations)
    def release(self, reservation):
        now = self.clock.now()
        expected = self.model.release(reservation, now)
        got = self.sql(lambda ledger: ledger.release(self.sql_ids[reservation], now=now))
        assert got == ("ok", expected)

    @rule(minutes=st.integers(1, 45))
    def time_passes_and_reservations_expire(self, minutes):
        self.clock.advance(minutes=minutes)
        now = self.clock.now()
        candidates = [r.id for r in self.model.open_reservations()]
        expected = set(self.model.expire_due(now))

        async def expire_all(ledger):
            return {r for r in candidates if await ledger.expire(self.sql_ids[r], now=now)}

        assert self.sql(expire_all) == ("ok", expected)

    @invariant()
    def the_balances_agree(self):
        got = self.sql(lambda ledger: ledger.balance())[1]
        account = self.model.account
        assert (
            got.allowance,
            got.purchased,
            got.reserved,
            got.available,
            got.period_granted,
            got.period_spent,
        ) == (
            account.allowance,
            account.purchased,
            account.reserved,
            account.available,
            account.period_granted,
            account.period_spent,
        )


def _run(app_url: str) -> None:
    loop = asyncio.new_event_loop()
    engine = create_async_engine(app_url, pool_size=2, max_overflow=0)
    SqlAgreesWithTheModel.loop = loop
    SqlAgreesWithTheModel.engine = engine
    try:
        run_state_machine_as_test(
            SqlAgreesWithTheModel,
            settings=settings(
                max_examples=25,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()


async def test_the_sql_ledger_follows_the_domain_rules(settings):
    await asyncio.to_thread(_run, settings.role_url(APP_ROLE).render_as_string(hide_password=False))
