"""Billing and credit handlers through the bus, on the in-memory fakes."""

from __future__ import annotations

from uuid import UUID

import pytest

from scaliyo.application.billing.commands import (
    EndTrial,
    GetSubscription,
    GetUsage,
    GrantPeriodCredits,
    ListPlans,
    SetPlan,
)
from scaliyo.application.bus import OPERATOR, SYSTEM, Actor, ActorKind, Bus, Context
from scaliyo.application.bus import default_middleware as middleware
from scaliyo.application.credits.commands import GetCredits, GrantCredits
from scaliyo.application.identity.commands import CreateWorkspace
from scaliyo.application.registry import build_handlers
from scaliyo.domain.billing.plans import Interval
from scaliyo.domain.billing.subscriptions import TrialEnded
from scaliyo.domain.credits.ledger import InsufficientCredits
from scaliyo.domain.identity.roles import RoleTooLow
from scaliyo.domain.shared.errors import PermissionDenied, ValidationFailed
from scaliyo.domain.shared.ids import WorkspaceId
from scaliyo.domain.usage.counters import Check, LimitReached, Metric
from tests.unit.fakes import FakeUnitOfWork, FixedClock, InMemoryStore, SequentialIds
from tests.unit.fakes import fake_uow_factory as uow_factory


@pytest.fixture
def world():
    store, clock = InMemoryStore(), FixedClock()
    bus = Bus(build_handlers(clock=clock, ids=SequentialIds()), uow_factory(store), middleware())
    return store, clock, bus


async def new_workspace(bus: Bus) -> WorkspaceId:
    view = await bus.execute(CreateWorkspace(name="Acme"), Context(request_id="t", actor=OPERATOR))
    return WorkspaceId(UUID(view.id))


def member(ws: WorkspaceId, role: str = "viewer") -> Context:
    actor = Actor(ActorKind.USER, id=UUID(int=7), workspace_role=role)
    return Context(request_id="t", actor=actor, workspace_id=ws)


def operator(ws: WorkspaceId) -> Context:
    return Context(request_id="t", actor=OPERATOR, workspace_id=ws)


def system(ws: WorkspaceId) -> Context:
    return Context(request_id="t", actor=SYSTEM, workspace_id=ws)


async def test_a_new_workspace_trials_starter_with_its_credits(world):
    _, _, bus = world
    ws = await new_workspace(bus)
    sub = await bus.execute(GetSubscription(), member(ws))
    assert (sub.status, sub.plan.code, sub.trial_days_left) == ("trialing", "starter", 14)
    assert sub.access.ai and sub.blocked_reason is None
    assert "api_access" in sub.features and sub.limits.seats == 1
    credits = await bus.execute(GetCredits(), member(ws))
    assert (credits.available, credits.period.granted, credits.period.spent) == (1_000, 1_000, 0)
    assert [(line.kind, line.amount) for line in credits.ledger.items] == [("grant", 1_000)]
    usage = await bus.execute(GetUsage(), member(ws))
    by_metric = {c.metric: c for c in usage.counters}
    assert by_metric["contacts"].limit == 1_000 and by_metric["contacts"].used == 0
    assert by_metric["emails_monthly"].limit == 2_000 and by_metric["seats"].limit == 1
    assert by_metric["seats"].used == 0  # no member in this fake workspace yet
    assert (by_metric["ai_credits"].used, by_metric["ai_credits"].limit) == (0, 1_000)


async def test_plans_are_listed_without_a_workspace(world):
    _, _, bus = world
    plans = await bus.execute(ListPlans(), Context(request_id="t"))
    assert [(p.code, p.monthly_price_cents, p.annual_price_cents) for p in plans.items] == [
        ("starter", 2_900, 29_580),
        ("growth", 7_900, 80_580),
        ("scale", 19_900, 202_980),
    ]


async def test_only_operators_change_plans_and_grant_credits(world):
    _, _, bus = world
    ws = await new_workspace(bus)
    with pytest.raises(PermissionDenied, match="operators"):
        await bus.execute(SetPlan(plan="scale"), member(ws, "owner"))
    with pytest.raises(PermissionDenied):
        await bus.execute(GrantCredits(amount=5, reason="x"), member(ws, "owner"))
    outsider = Context(request_id="t", actor=Actor(ActorKind.USER, id=UUID(int=9)), workspace_id=ws)
    with pytest.raises(RoleTooLow):
        await bus.execute(GetCredits(), outsider)


async def test_activating_then_upgrading_then_downgrading(world):
    store, clock, bus = world
    ws = await new_workspace(bus)
    clock.advance(days=3)
    activated = await bus.execute(SetPlan(plan="growth"), operator(ws))
    assert activated.outcome == "activated"
    assert (activated.subscription.status, activated.subscription.plan.code) == ("active", "growth")
    credits = await bus.execute(GetCredits(), member(ws))
    assert credits.available == 6_000  # the trial's allowance expired, Growth's granted afresh
    assert [line.kind for line in credits.ledger.items] == ["grant", "expire", "grant"]

    upgraded = await bus.execute(SetPlan(plan="scale"), operator(ws))
    assert (upgraded.outcome, upgraded.credits_added) == ("upgraded", 14_000)
    assert (await bus.execute(GetCredits(), member(ws))).available == 20_000

    downgrade = await bus.execute(SetPlan(plan="starter"), operator(ws))
    assert downgrade.outcome == "downgrade_scheduled"
    assert (downgrade.subscription.plan.code, downgrade.subscription.pending_plan) == (
        "scale",
        "starter",
    )
    actions = [entry.action for entry in store.audit if entry.workspace_id == ws]
    assert actions.count("subscription.plan_set") == 3


async def test_the_trial_end_stops_ai_work_and_says_why(world):
    store, clock, bus = world
    ws = await new_workspace(bus)
    assert await bus.execute(EndTrial(), system(ws)) is False  # not yet
    clock.advance(days=14, seconds=1)
    assert await bus.execute(EndTrial(), system(ws)) is True
    assert await bus.execute(EndTrial(), system(ws)) is False  # once
    sub = await bus.execute(GetSubscription(), member(ws))
    assert (sub.status, sub.ended_reason, sub.blocked_reason) == (
        "canceled",
        "trial_ended",
        "trial_ended",
    )
    assert not sub.access.ai and not sub.access.sending
    credits = await bus.execute(GetCredits(), member(ws))
    assert credits.available == 0 and credits.ledger.items[0].kind == "expire"
    uow = FakeUnitOfWork(store, ws)
    with pytest.raises(TrialEnded):
        await uow.credit_ledger.reserve("lead_scoring", 10, "after-trial", now=clock.now())
    with pytest.raises(TrialEnded):
        await uow.limits.admit(Check(metric=Metric.EMAILS_DAILY), at=clock.now())
    await uow.limits.admit(Check(metric=Metric.CONTACTS), at=clock.now())  # data may grow


async def test_annual_plans_get_each_months_allowance_once(world):
    _, clock, bus = world
    ws = await new_workspace(bus)
    clock.advance(hours=2)
    await bus.execute(SetPlan(plan="starter", interval=Interval.YEAR), operator(ws))
    assert await bus.execute(GrantPeriodCredits(), system(ws)) is None  # month 1 granted already
    clock.advance(days=31)
    assert await bus.execute(GrantPeriodCredits(), system(ws)) == 1_000
    assert await bus.execute(GrantPeriodCredits(), system(ws)) is None
    credits = await bus.execute(GetCredits(), member(ws))
    grants = [line for line in credits.ledger.items if line.kind == "grant"]
    assert len(grants) == 3  # trial, month 1, month 2
    assert credits.available == 1_000


async def test_operator_run_periods_renew_and_apply_a_scheduled_downgrade(world):
    _, clock, bus = world
    ws = await new_workspace(bus)
    await bus.execute(SetPlan(plan="growth"), operator(ws))  # the instant the trial began
    assert (await bus.execute(GetCredits(), member(ws))).available == 6_000
    await bus.execute(SetPlan(plan="starter"), operator(ws))
    clock.advance(days=32)
    assert await bus.execute(GrantPeriodCredits(), system(ws)) == 1_000
    sub = await bus.execute(GetSubscription(), member(ws))
    assert (sub.plan.code, sub.pending_plan) == ("starter", None)
    assert (await bus.execute(GetCredits(), member(ws))).available == 1_000


async def test_operator_grants_are_kept_audited_and_once_per_operation_id(world):
    store, clock, bus = world
    ws = await new_workspace(bus)
    with pytest.raises(ValidationFailed):
        await bus.execute(GrantCredits(amount=10, reason="  "), operator(ws))
    with pytest.raises(ValidationFailed):
        await bus.execute(GrantCredits(amount=0, reason="x"), operator(ws))
    first = await bus.execute(
        GrantCredits(amount=250, reason="goodwill", operation_id="ticket-42"), operator(ws)
    )
    again = await bus.execute(
        GrantCredits(amount=250, reason="goodwill", operation_id="ticket-42"), operator(ws)
    )
    assert (first.granted, first.available) == (True, 1_250)
    assert (again.granted, again.available) == (False, 1_250)
    grants = [e for e in store.audit if e.action == "credits.granted"]
    assert len(grants) == 1 and grants[0].details["reason"] == "goodwill"
    clock.advance(days=15)
    await bus.execute(EndTrial(), system(ws))
    credits = await bus.execute(GetCredits(), member(ws))
    assert credits.purchased == 250 and credits.allowance == 0  # kept credits outlive the trial


async def test_limits_refuse_past_the_plan_and_count_nothing_then(world):
    store, clock, bus = world
    ws = await new_workspace(bus)
    uow = FakeUnitOfWork(store, ws)
    await uow.limits.admit(Check(metric=Metric.SEATS), at=clock.now())
    with pytest.raises(LimitReached) as refused:
        await uow.limits.admit(
            Check(metric=Metric.CONTACTS, amount=5), Check(metric=Metric.SEATS), at=clock.now()
        )
    assert refused.value.metric is Metric.SEATS and refused.value.limit == 1
    counters = {c.metric: c.used for c in await uow.limits.current(clock.now())}
    assert counters == {Metric.SEATS: 1}  # the contacts of the refused pair were not counted


async def test_insufficient_credits_refuse_before_anything_is_held(world):
    store, clock, bus = world
    ws = await new_workspace(bus)
    uow = FakeUnitOfWork(store, ws)
    with pytest.raises(InsufficientCredits):
        await uow.credit_ledger.reserve("batch_generation", 800 * 2_000, "big", now=clock.now())
    assert (await uow.credit_ledger.balance()).reserved == 0
