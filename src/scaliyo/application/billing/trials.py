"""Every new workspace starts in a trial: call ``start_trial`` in the transaction that creates
the workspace (``CreateWorkspace``, sign-up), after the transaction is scoped to it."""

from __future__ import annotations

from datetime import datetime

from scaliyo.application.billing.ports import BillingUnitOfWork
from scaliyo.domain.billing.plans import TRIAL_PLAN_CODE, PlanNotFound
from scaliyo.domain.billing.subscriptions import Subscription
from scaliyo.domain.shared.ids import WorkspaceId


async def start_trial(
    uow: BillingUnitOfWork, workspace_id: WorkspaceId, now: datetime, *, actor: str | None = None
) -> Subscription:
    """Start the workspace's 14-day trial.

    Rules:
    - the subscription is ``trialing`` on Starter (its limits and credits), every feature, no
      card, for 14 days from ``now``;
    - the workspace's credit account is opened and granted Starter's allowance for the trial
      period, once;
    - no event of its own: ``workspace.created`` announces the trial too.
    """
    plan = await uow.plans.get(TRIAL_PLAN_CODE)
    if plan is None:
        raise PlanNotFound(f"The trial plan {TRIAL_PLAN_CODE!r} is missing from the plans.")
    subscription = Subscription.start_trial(workspace_id, now)
    assert subscription.trial_end is not None
    await uow.subscriptions.add(subscription)
    await uow.credit_ledger.open_account()
    await uow.credit_ledger.start_period(
        start=subscription.current_period_start,
        end=subscription.trial_end,
        grant=plan.limits.ai_credits,
        now=now,
        reason="trial",
        actor=actor,
    )
    return subscription
