"""Billing handlers: plans, the subscription, usage, and the scheduler's trial and period work."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from scaliyo.application.billing.access import (
    require_billing_read,
    require_operator,
    require_platform,
)
from scaliyo.application.billing.commands import (
    CounterView,
    EndTrial,
    GetSubscription,
    GetUsage,
    GrantPeriodCredits,
    ListPlans,
    PlansView,
    SenderCounterView,
    SetPlan,
    SetPlanResult,
    SubscriptionView,
    UsageView,
)
from scaliyo.application.billing.limits import plan_limit
from scaliyo.application.billing.ports import BillingUnitOfWork
from scaliyo.application.billing.views import plan_view, subscription_view
from scaliyo.application.bus import Context, Handler, Message
from scaliyo.application.identity.seat_usage import seats_in_use
from scaliyo.application.shared.audit import actor_label, audit_entry
from scaliyo.application.shared.ports import Clock, IdFactory
from scaliyo.application.shared.time import rfc3339, rfc3339_or_none
from scaliyo.domain.billing.periods import add_months, interval_months
from scaliyo.domain.billing.plans import Plan, PlanNotFound, plan_code
from scaliyo.domain.billing.subscriptions import (
    STARTABLE,
    PlanChange,
    PlanChanged,
    Source,
    Subscription,
    SubscriptionActivated,
    SubscriptionCanceled,
    SubscriptionNotFound,
    SubscriptionRenewed,
    SubscriptionStatus,
    TrialEndedEvent,
)
from scaliyo.domain.usage.counters import SUBJECT_METRICS, Metric, Window, period_key


async def _subscription(uow: BillingUnitOfWork, *, for_update: bool = False) -> Subscription:
    subscription = await uow.subscriptions.get(for_update=for_update)
    if subscription is None:
        raise SubscriptionNotFound()
    return subscription


async def _plan(uow: BillingUnitOfWork, code: str) -> Plan:
    plan = await uow.plans.get(code)
    if plan is None:
        raise PlanNotFound(f"There is no plan {code!r}.")
    return plan


class ListPlansHandler:
    """The plans on sale with prices (monthly, and annual at 15 % off), limits and features.

    Rules: no workspace or sign-in is needed; custom (non-public) plans are not listed.
    """

    async def __call__(self, message: ListPlans, uow: BillingUnitOfWork, context: Context):
        return PlansView(items=[plan_view(plan) for plan in await uow.plans.list_public()])


class GetSubscriptionHandler:
    """The workspace's plan, status, trial end and period.

    Rules: any member reads it (``billing.read``); ``features`` and ``limits`` are what the
    workspace has now (every feature while trialing, bought seats added); ``blocked_reason``
    is the error code AI work and sending answer with while they are stopped.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self, message: GetSubscription, uow: BillingUnitOfWork, context: Context
    ) -> SubscriptionView:
        require_billing_read(context)
        subscription = await _subscription(uow)
        plan = await _plan(uow, subscription.plan_code)
        return subscription_view(subscription, plan, self._clock.now())


class GetUsageHandler:
    """Every usage counter of the current periods, with its limit.

    Rules: any member reads it; days and months are UTC; seats used are the members plus the
    pending invites; ``ai_credits`` is the credit period's
    spend against its grant; per-sender daily counts are listed apart, with the cap they were
    last held to.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self, message: GetUsage, uow: BillingUnitOfWork, context: Context
    ) -> UsageView:
        require_billing_read(context)
        now = self._clock.now()
        subscription = await _subscription(uow)
        plan = await _plan(uow, subscription.plan_code)
        limits = subscription.limits(plan)
        values = await uow.limits.current(now)
        used = {(v.metric, v.period): v.used for v in values if v.subject is None}
        # Seats are held by members and pending invites, counted where they live.
        used[(Metric.SEATS, period_key(Metric.SEATS, now))] = await seats_in_use(uow, now)
        counters = []
        for metric in Metric:
            if metric in SUBJECT_METRICS:
                continue
            period = period_key(metric, now)
            counters.append(
                CounterView(
                    metric=metric.value,
                    window=metric.window.value,
                    used=used.get((metric, period), 0),
                    limit=plan_limit(metric, limits),
                    period=None if metric.window is Window.TOTAL else period,
                    resets_at=_resets_at(metric.window, now),
                )
            )
        balance = await uow.credit_ledger.balance()
        counters.append(
            CounterView(
                metric="ai_credits",
                window="credit_period",
                used=0 if balance is None else balance.period_spent,
                limit=0 if balance is None else balance.period_granted,
                period=None if balance is None else rfc3339_or_none(balance.period_start),
                resets_at=None if balance is None else rfc3339_or_none(balance.period_end),
            )
        )
        senders = [
            SenderCounterView(
                sender_id=v.subject or "", period=v.period, used=v.used, limit=v.last_limit
            )
            for v in values
            if v.subject is not None
        ]
        return UsageView(
            plan=plan.code,
            status=subscription.status.value,
            counters=counters,
            senders=senders,
        )


def _resets_at(window: Window, now: datetime) -> str | None:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if window is Window.DAY:
        return rfc3339(midnight + timedelta(days=1))
    if window is Window.MONTH:
        return rfc3339(add_months(midnight.replace(day=1), 1))
    return None


class SetPlanHandler:
    """Operators put a workspace on a plan (standard or custom).

    Rules:
    - operators only (``operators_only``); the plan must exist (``plan_not_found``);
    - a trialing, canceled or incomplete subscription is activated on the plan with a new
      period of one ``interval`` from now, run by the operator (the scheduler renews it); the
      new credit period grants the plan's allowance, and the old allowance expires;
    - an active or past-due one changes plan: an upgrade applies at once and tops the credit
      period's grant up to the new plan's allowance; a downgrade waits for the period's end;
      the current plan cancels a scheduled downgrade;
    - the change is audited (``subscription.plan_set``) and announced in the outbox.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self, message: SetPlan, uow: BillingUnitOfWork, context: Context
    ) -> SetPlanResult:
        require_operator(context)
        assert context.workspace_id is not None
        now = self._clock.now()
        new = await _plan(uow, plan_code(message.plan))
        subscription = await _subscription(uow, for_update=True)
        previous = subscription.plan_code
        added = 0
        if subscription.status in STARTABLE:
            end = add_months(now, interval_months(message.interval))
            subscription = subscription.activate(
                new.code,
                interval=message.interval,
                source=Source.OPERATOR,
                period_start=now,
                period_end=end,
                now=now,
            )
            period = subscription.credit_period(now)
            assert period is not None
            rolled = await uow.credit_ledger.start_period(
                start=period[0],
                end=period[1],
                grant=new.limits.ai_credits,
                now=now,
                reason=f"plan {new.code}",
                actor=actor_label(context.actor),
            )
            added = new.limits.ai_credits
            if rolled is None:  # activated in the very instant its trial began: top it up
                added = (
                    await uow.credit_ledger.top_up(
                        start=period[0],
                        target=new.limits.ai_credits,
                        now=now,
                        reason=f"plan {new.code}",
                        actor=actor_label(context.actor),
                    )
                    or 0
                )
            outcome = "activated"
            uow.record(
                SubscriptionActivated(
                    workspace_id=context.workspace_id,
                    aggregate_id=context.workspace_id,
                    plan=new.code,
                    status=subscription.status.value,
                    interval=message.interval.value,
                )
            )
        else:
            current = await _plan(uow, subscription.plan_code)
            subscription, change = subscription.change_plan(current, new, now)
            outcome = change.value
            if change is PlanChange.UPGRADED:
                balance = await uow.credit_ledger.balance()
                if balance is not None and balance.period_start is not None:
                    added = (
                        await uow.credit_ledger.top_up(
                            start=balance.period_start,
                            target=new.limits.ai_credits,
                            now=now,
                            reason=f"upgrade to {new.code}",
                            actor=actor_label(context.actor),
                        )
                        or 0
                    )
            uow.record(
                PlanChanged(
                    workspace_id=context.workspace_id,
                    aggregate_id=context.workspace_id,
                    plan=subscription.plan_code,
                    status=subscription.status.value,
                    previous_plan=previous,
                    change=change.value,
                )
            )
        await uow.subscriptions.save(subscription)
        await uow.audit.record(
            audit_entry(
                context,
                "subscription.plan_set",
                workspace_id=context.workspace_id,
                target=f"workspace:{context.workspace_id}",
                details={
                    "plan": new.code,
                    "previous_plan": previous,
                    "outcome": outcome,
                    "credits_added": added,
                },
            )
        )
        await uow.commit()
        return SetPlanResult(
            outcome=outcome,
            subscription=subscription_view(
                subscription, await _plan(uow, subscription.plan_code), now
            ),
            credits_added=added,
        )


class EndTrialHandler:
    """The trial-end job, for one workspace.

    Rules:
    - a trial that has run out (now ≥ trial end) and was not paid for (still trialing) ends:
      the subscription is canceled with reason ``trial_ended``; AI work and sending answer
      ``trial_ended`` from then on; no data is touched;
    - the trial's remaining allowance expires (what open reservations hold stays held);
    - anything else is left alone, so running it again, or late, does no harm;
    - audited (``subscription.trial_ended``, by the system) and announced in the outbox.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(self, message: EndTrial, uow: BillingUnitOfWork, context: Context) -> bool:
        require_platform(context)
        assert context.workspace_id is not None
        now = self._clock.now()
        subscription = await uow.subscriptions.get(for_update=True)
        if subscription is None or not subscription.trial_over(now):
            return False
        ended = subscription.end_trial(now)
        assert ended.ended_at is not None
        await uow.subscriptions.save(ended)
        expired = await uow.credit_ledger.start_period(
            start=ended.ended_at, end=None, grant=0, now=now, reason="trial ended"
        )
        uow.record(
            TrialEndedEvent(
                workspace_id=context.workspace_id,
                aggregate_id=context.workspace_id,
                plan=ended.plan_code,
                status=ended.status.value,
            )
        )
        await uow.audit.record(
            audit_entry(
                context,
                "subscription.trial_ended",
                workspace_id=context.workspace_id,
                target=f"workspace:{context.workspace_id}",
                details={"credits_expired": expired or 0},
            )
        )
        await uow.commit()
        return True


class GrantPeriodCreditsHandler:
    """The period-grant job, for one workspace.

    Rules:
    - an operator-run paid subscription whose period has ended is renewed (a scheduled
      downgrade applies, one set to cancel ends with reason ``canceled`` and its allowance
      expires);
    - then the credit period holding now is granted the plan's allowance, once: a trial's one
      period, each month of an annual plan, each operator-run month. Stripe's monthly plans
      are granted by their paid invoice, not here;
    - the grant is keyed by the period, so however often this runs, and whatever else granted
      the period, it is granted once.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(
        self, message: GrantPeriodCredits, uow: BillingUnitOfWork, context: Context
    ) -> int | None:
        require_platform(context)
        assert context.workspace_id is not None
        workspace_id = context.workspace_id
        now = self._clock.now()
        subscription = await uow.subscriptions.get(for_update=True)
        if subscription is None:
            return None
        if (
            subscription.source is Source.OPERATOR
            and subscription.status is not SubscriptionStatus.CANCELED
            and subscription.status is not SubscriptionStatus.TRIALING
            and now >= subscription.current_period_end
        ):
            renewed = subscription.renew(now)
            await uow.subscriptions.save(renewed)
            if renewed.status is SubscriptionStatus.CANCELED:
                assert renewed.ended_at is not None
                await uow.credit_ledger.start_period(
                    start=renewed.ended_at, end=None, grant=0, now=now, reason="canceled"
                )
                uow.record(
                    SubscriptionCanceled(
                        workspace_id=workspace_id,
                        aggregate_id=workspace_id,
                        plan=renewed.plan_code,
                        status=renewed.status.value,
                        reason="canceled",
                    )
                )
                await uow.commit()
                return None
            uow.record(
                SubscriptionRenewed(
                    workspace_id=workspace_id,
                    aggregate_id=workspace_id,
                    plan=renewed.plan_code,
                    status=renewed.status.value,
                    period_start=renewed.current_period_start,
                    period_end=renewed.current_period_end,
                )
            )
            subscription = renewed
        granted = None
        stripe_monthly = (
            subscription.source is Source.STRIPE and interval_months(subscription.interval) == 1
        )
        period = None if stripe_monthly else subscription.credit_period(now)
        if period is not None:
            plan = await _plan(uow, subscription.plan_code)
            await uow.credit_ledger.open_account()
            expired = await uow.credit_ledger.start_period(
                start=period[0],
                end=period[1],
                grant=plan.limits.ai_credits,
                now=now,
                reason=f"plan {plan.code}",
            )
            granted = None if expired is None else plan.limits.ai_credits
        await uow.commit()
        return granted


def billing_handlers(*, clock: Clock, ids: IdFactory) -> Mapping[type[Message], Handler]:
    return {
        ListPlans: ListPlansHandler(),
        GetSubscription: GetSubscriptionHandler(clock),
        GetUsage: GetUsageHandler(clock),
        SetPlan: SetPlanHandler(clock),
        EndTrial: EndTrialHandler(clock),
        GrantPeriodCredits: GrantPeriodCreditsHandler(clock),
    }
