"""The credit rules of PRODUCT.md, and the ledger under any interleaving of its operations."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
)

from scaliyo.domain.credits.ledger import (
    EntryKind,
    InsufficientCredits,
    Ledger,
    OperationIdReused,
    ReservationClosed,
    ReservationStatus,
    operation_id,
)
from scaliyo.domain.credits.operations import (
    MINIMUM_CREDITS,
    Operation,
    UnknownOperation,
    charge_for,
    credits_for_tokens,
    reservation_for,
)
from scaliyo.domain.shared.errors import ValidationFailed

T0 = datetime(2026, 3, 1, tzinfo=UTC)
operations = st.sampled_from(list(Operation))
tokens = st.integers(min_value=0, max_value=200_000)


def test_minimum_costs_are_those_of_the_product():
    assert {op.value: n for op, n in MINIMUM_CREDITS.items()} == {
        "email_sequence": 3,
        "content_generation": 2,
        "lead_research": 2,
        "lead_scoring": 1,
        "dashboard_insights": 1,
        "blog_content": 3,
        "image_generation": 2,
        "batch_generation": 5,
    }


@given(operations, tokens)
def test_a_charge_is_the_minimum_or_one_credit_per_800_tokens_rounded_up(op, used):
    assert charge_for(op, used) == max(MINIMUM_CREDITS[op], math.ceil(used / 800))
    assert credits_for_tokens(used) == math.ceil(used / 800)


def test_charges_at_the_boundaries():
    assert charge_for("lead_scoring", 0) == 1
    assert charge_for("lead_scoring", 800) == 1
    assert charge_for("lead_scoring", 801) == 2
    assert charge_for("email_sequence", 1_600) == 3
    assert charge_for("batch_generation", 8_001) == 11


@given(operations, tokens, tokens)
def test_a_reservation_covers_any_charge_within_its_estimate(op, prompt, max_output):
    held = reservation_for(op, prompt + max_output)
    for used in (0, prompt, prompt + max_output):
        assert charge_for(op, used) <= held


def test_bad_inputs_are_refused_clearly():
    with pytest.raises(UnknownOperation):
        charge_for("poetry", 10)
    with pytest.raises(ValidationFailed):
        reservation_for("lead_scoring", -1)
    with pytest.raises(ValidationFailed):
        operation_id("")
    with pytest.raises(ValidationFailed):
        operation_id("x" * 201)


def test_a_retried_operation_has_no_second_effect():
    ledger = Ledger()
    ledger.start_period(T0, T0 + timedelta(days=30), 10, T0)
    first = ledger.reserve(
        id=uuid4(), op="email_sequence", estimated_tokens=4_000, operation_id="job-1", now=T0
    )
    again = ledger.reserve(
        id=uuid4(), op="email_sequence", estimated_tokens=4_000, operation_id="job-1", now=T0
    )
    assert again.id == first.id and ledger.account.reserved == 5
    with pytest.raises(OperationIdReused):
        ledger.reserve(
            id=uuid4(), op="lead_scoring", estimated_tokens=1, operation_id="job-1", now=T0
        )
    settled = ledger.settle(first.id, 1_000, T0)
    assert ledger.settle(first.id, 4_000, T0) == settled  # the retry changes nothing
    assert settled.charged == 3 and ledger.account.available == 7
    assert not ledger.release(first.id, T0)
    assert ledger.add_kept(EntryKind.PURCHASE, 50, "order-9", T0)
    assert not ledger.add_kept(EntryKind.PURCHASE, 50, "order-9", T0)
    assert ledger.account.purchased == 50
    assert ledger.start_period(T0, None, 10, T0) is None  # the period's grant was made


def test_hard_stop_at_zero_refuses_before_anything_is_held():
    ledger = Ledger()
    ledger.start_period(T0, None, 4, T0)
    with pytest.raises(InsufficientCredits) as refused:
        ledger.reserve(
            id=uuid4(), op="batch_generation", estimated_tokens=0, operation_id="b", now=T0
        )
    assert (refused.value.required, refused.value.available) == (5, 4)
    assert refused.value.code == "insufficient_credits"
    assert ledger.account.reserved == 0 and ledger.reservations == {}


def test_held_credits_survive_a_period_end_and_unused_allowance_expires():
    ledger = Ledger()
    ledger.start_period(T0, T0 + timedelta(days=30), 100, T0)
    ledger.add_kept(EntryKind.MANUAL_GRANT, 20, "goodwill", T0)
    held = ledger.reserve(
        id=uuid4(), op="lead_research", estimated_tokens=8_000, operation_id="r", now=T0
    )
    expired = ledger.start_period(T0 + timedelta(days=30), T0 + timedelta(days=60), 100, T0)
    assert expired == 90  # 100 − the 10 held; purchased credits are not touched
    assert ledger.account.allowance == 110 and ledger.account.purchased == 20
    ledger.settle(held.id, 800, T0)  # charged 2, 8 go back to the balance
    assert ledger.account.available == 128


def test_an_upgrade_tops_the_period_up_to_the_new_allowance_once():
    ledger = Ledger()
    ledger.start_period(T0, None, 1_000, T0)
    spent = ledger.reserve(
        id=uuid4(), op="lead_scoring", estimated_tokens=800 * 300, operation_id="s", now=T0
    )
    ledger.settle(spent.id, 800 * 300, T0)
    assert ledger.top_up(T0, 6_000, T0) == 5_000
    assert ledger.top_up(T0, 6_000, T0) is None
    assert ledger.top_up(T0, 1_000, T0) is None  # never downwards
    assert ledger.account.allowance == 6_000 - 300
    assert ledger.account.period_granted == 6_000


class LedgerMachine(RuleBasedStateMachine):
    """Grants, reservations, settlements, releases, expiries and period changes, interleaved
    (with retries of the same operation ids)."""

    reservations = Bundle("reservations")

    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger()
        self.now = T0
        self.period_starts: list[datetime] = []

    @rule(days=st.integers(min_value=1, max_value=40), grant=st.integers(0, 5_000))
    def new_period(self, days, grant):
        before = self.ledger.account
        start = max([self.now, *self.period_starts]) + timedelta(days=days)
        expired = self.ledger.start_period(start, start + timedelta(days=30), grant, self.now)
        after = self.ledger.account
        assert expired is not None
        assert expired == max(0, before.allowance - before.reserved)
        assert after.purchased == before.purchased  # purchased credits are kept
        assert after.reserved == before.reserved  # held credits stay held
        if before.reserved == 0:
            assert after.allowance == grant  # granted afresh
        self.period_starts.append(start)

    @rule(index=st.integers(min_value=0, max_value=50), grant=st.integers(0, 5_000))
    def the_same_period_again(self, index, grant):
        """The scheduler, Stripe, a retry: a period is granted once whatever asks."""
        if not self.period_starts:
            return
        start = self.period_starts[index % len(self.period_starts)]
        before = self.ledger.account
        assert self.ledger.start_period(start, None, grant, self.now) is None
        assert self.ledger.account == before

    @rule(target_=st.integers(0, 25_000))
    def upgrade(self, target_):
        if not self.period_starts:
            return
        before = self.ledger.account
        added = self.ledger.top_up(self.period_starts[-1], target_, self.now)
        after = self.ledger.account
        if target_ > before.period_granted:
            assert added == target_ - before.period_granted
            assert after.allowance == before.allowance + added
        else:
            assert added is None and after == before

    @rule(amount=st.integers(1, 500), key=st.sampled_from(["p1", "p2", "p3"]))
    def purchase(self, amount, key):
        self.ledger.add_kept(EntryKind.PURCHASE, amount, key, self.now)

    @rule(
        target=reservations,
        op=operations,
        estimate=st.integers(0, 40_000),
        key=st.integers(0, 30).map(lambda n: f"op-{n}"),
    )
    def reserve(self, op, estimate, key):
        before = self.ledger.account
        known = {r.operation_id: r for r in self.ledger.reservations.values()}
        try:
            reservation = self.ledger.reserve(
                id=uuid4(), op=op, estimated_tokens=estimate, operation_id=key, now=self.now
            )
        except (InsufficientCredits, OperationIdReused) as refused:
            assert self.ledger.account == before  # refused before anything is held
            if isinstance(refused, InsufficientCredits):
                assert refused.required > before.available
            return multiple()
        if key in known:
            assert reservation == known[key] and self.ledger.account == before
            return multiple()
        assert self.ledger.account.reserved == before.reserved + reservation.credits
        return reservation

    @rule(reservation=reservations, used=st.integers(0, 60_000))
    def settle(self, reservation, used):
        try:
            settled = self.ledger.settle(reservation.id, used, self.now)
        except ReservationClosed:
            assert self.ledger.reservations[reservation.id].status in {
                ReservationStatus.RELEASED,
                ReservationStatus.EXPIRED,
            }
            return
        assert settled.charged is not None and settled.charged <= settled.credits

    @rule(reservation=consumes(reservations))
    def release(self, reservation):
        was_open = self.ledger.reservations[reservation.id].status is ReservationStatus.OPEN
        assert self.ledger.release(reservation.id, self.now) == was_open

    @rule(minutes=st.integers(1, 90))
    def time_passes_and_reservations_expire(self, minutes):
        self.now += timedelta(minutes=minutes)
        for reservation_id in self.ledger.expire_due(self.now):
            assert self.ledger.reservations[reservation_id].expires_at <= self.now

    @invariant()
    def available_is_never_negative(self):
        assert self.ledger.account.available >= 0

    @invariant()
    def available_is_grants_minus_charges_minus_open_reservations(self):
        held = sum(r.credits for r in self.ledger.open_reservations())
        assert self.ledger.account.reserved == held
        assert self.ledger.account.available == sum(e.amount for e in self.ledger.entries) - held

    @invariant()
    def a_charge_never_exceeds_its_reservation(self):
        for entry in self.ledger.entries:
            if entry.kind is EntryKind.CHARGE:
                reservation = self.ledger.reservations[entry.reservation_id]
                assert 0 < -entry.amount == reservation.charged <= reservation.credits

    @invariant()
    def every_grant_once_per_period(self):
        grants = Counter(e.operation_id for e in self.ledger.entries if e.kind is EntryKind.GRANT)
        assert all(n == 1 for n in grants.values())
        charges = Counter(
            e.reservation_id for e in self.ledger.entries if e.kind is EntryKind.CHARGE
        )
        assert all(n == 1 for n in charges.values())


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
