"""A workspace's subscription: its plan, its status and how it moves between them.

Statuses: ``trialing``, ``active``, ``past_due``, ``canceled``, ``incomplete``.

Transitions (anything else is ``invalid_subscription_change``):
- start_trial → trialing: a new workspace, 14 days, Starter's limits and credits, every feature,
  no card;
- end_trial: trialing whose trial has run out → canceled (reason ``trial_ended``); data stays;
- activate: trialing, canceled or incomplete → active, on a plan, with a new billing period
  (a checkout completed, or an operator set the plan);
- change_plan: active or past_due; an upgrade applies at once (and the period's credits are
  topped up), a downgrade is scheduled for the period's end, the current plan clears a
  scheduled downgrade;
- cancel_at_period_end / resume: active or past_due; the subscription ends (or no longer ends)
  when the period does;
- renew: active or past_due at the period's end → the next period, with a scheduled downgrade
  applied; one set to cancel → canceled (reason ``canceled``);
- payment_failed: active → past_due, the grace period starting; payment_succeeded: past_due or
  incomplete → active;
- cancel_now: anything but canceled → canceled (reason given);
- expire_incomplete: incomplete → canceled (reason ``incomplete_expired``).

Access: AI work and sending are open while trialing within the trial, active, or past_due for the
7 days of grace after the failed payment (dunning); a trial that ran out refuses them with
``trial_ended``, a past-due subscription after its grace with ``payment_overdue``, any other ended
or unpaid subscription with ``subscription_inactive``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar

import msgspec

from scaliyo.domain.billing.periods import credit_period, interval_months, period_containing
from scaliyo.domain.billing.plans import (
    ALL_FEATURES,
    TRIAL_DAYS,
    TRIAL_PLAN_CODE,
    Interval,
    Plan,
    PlanLimits,
    is_upgrade,
)
from scaliyo.domain.shared.errors import Conflict, DomainError, ErrorKind, NotFound
from scaliyo.domain.shared.events import Event
from scaliyo.domain.shared.ids import WorkspaceId


class SubscriptionStatus(StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    INCOMPLETE = "incomplete"


class Source(StrEnum):
    """Who drives the subscription's periods: the trial clock, an operator, or Stripe."""

    TRIAL = "trial"
    OPERATOR = "operator"
    STRIPE = "stripe"


class EndReason(StrEnum):
    TRIAL_ENDED = "trial_ended"
    CANCELED = "canceled"
    INCOMPLETE_EXPIRED = "incomplete_expired"


PAID = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE})
STARTABLE = frozenset(
    {SubscriptionStatus.TRIALING, SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE}
)
# How long AI work and sending keep running after a payment failed (past_due).
PAYMENT_GRACE = timedelta(days=7)


class TrialEnded(DomainError):
    code = "trial_ended"
    kind = ErrorKind.LIMIT
    title = "The free trial has ended"


class SubscriptionInactive(DomainError):
    code = "subscription_inactive"
    kind = ErrorKind.LIMIT
    title = "This workspace has no active subscription"


class PaymentOverdue(DomainError):
    code = "payment_overdue"
    kind = ErrorKind.LIMIT
    title = "A payment is overdue"


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"
    title = "This workspace has no subscription"


class InvalidSubscriptionChange(Conflict):
    code = "invalid_subscription_change"
    title = "The subscription cannot make this change in its current state"


class PlanChange(StrEnum):
    UPGRADED = "upgraded"
    DOWNGRADE_SCHEDULED = "downgrade_scheduled"
    UNCHANGED = "unchanged"


class Access(msgspec.Struct, frozen=True, kw_only=True):
    """What the subscription allows now; ``blocked`` is the error code when it allows nothing."""

    ai: bool
    sending: bool
    blocked: str | None = None


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: WorkspaceId
    plan_code: str
    status: SubscriptionStatus
    interval: Interval
    source: Source
    current_period_start: datetime
    current_period_end: datetime
    created_at: datetime
    updated_at: datetime
    trial_end: datetime | None = None
    cancel_at_period_end: bool = False
    pending_plan_code: str | None = None
    extra_seats: int = 0
    ended_at: datetime | None = None
    ended_reason: EndReason | None = None
    # When the subscription fell past due (its grace runs from here); None otherwise.
    past_due_since: datetime | None = None

    def __post_init__(self) -> None:
        if self.current_period_end <= self.current_period_start:
            raise ValueError("a period ends after it starts")
        if self.extra_seats < 0:
            raise ValueError("extra seats cannot be negative")
        if self.status is SubscriptionStatus.TRIALING and self.trial_end is None:
            raise ValueError("a trial has an end")
        if (self.status is SubscriptionStatus.CANCELED) != (self.ended_at is not None):
            raise ValueError("a subscription has an end time exactly when it is canceled")
        if self.pending_plan_code is not None and self.status not in PAID:
            raise ValueError("only a paid subscription has a scheduled downgrade")
        if self.past_due_since is not None and self.status is not SubscriptionStatus.PAST_DUE:
            raise ValueError("only a past-due subscription has a grace period")

    # --- creation and the trial ----------------------------------------------------------

    @classmethod
    def start_trial(cls, workspace_id: WorkspaceId, now: datetime) -> Subscription:
        end = now + timedelta(days=TRIAL_DAYS)
        return cls(
            workspace_id=workspace_id,
            plan_code=TRIAL_PLAN_CODE,
            status=SubscriptionStatus.TRIALING,
            interval=Interval.MONTH,
            source=Source.TRIAL,
            current_period_start=now,
            current_period_end=end,
            trial_end=end,
            created_at=now,
            updated_at=now,
        )

    def trial_over(self, now: datetime) -> bool:
        return (
            self.status is SubscriptionStatus.TRIALING
            and self.trial_end is not None
            and now >= self.trial_end
        )

    def end_trial(self, now: datetime) -> Subscription:
        if not self.trial_over(now):
            raise InvalidSubscriptionChange("Only a trial that has run out can end.")
        assert self.trial_end is not None
        return msgspec.structs.replace(
            self,
            status=SubscriptionStatus.CANCELED,
            ended_at=self.trial_end,
            ended_reason=EndReason.TRIAL_ENDED,
            cancel_at_period_end=False,
            updated_at=now,
        )

    # --- paid life -----------------------------------------------------------------------

    def activate(
        self,
        plan_code: str,
        *,
        interval: Interval,
        source: Source,
        period_start: datetime,
        period_end: datetime,
        now: datetime,
    ) -> Subscription:
        if self.status not in STARTABLE:
            raise InvalidSubscriptionChange(
                f"A {self.status.value} subscription changes plan, it is not started again."
            )
        return msgspec.structs.replace(
            self,
            plan_code=plan_code,
            status=SubscriptionStatus.ACTIVE,
            interval=interval,
            source=source,
            current_period_start=period_start,
            current_period_end=period_end,
            cancel_at_period_end=False,
            pending_plan_code=None,
            ended_at=None,
            ended_reason=None,
            past_due_since=None,
            updated_at=now,
        )

    def change_plan(
        self, current: Plan, new: Plan, now: datetime
    ) -> tuple[Subscription, PlanChange]:
        self._require_paid("change plan")
        if current.code != self.plan_code:
            raise ValueError("current must be the subscription's own plan")
        if new.code == self.plan_code:
            return msgspec.structs.replace(
                self, pending_plan_code=None, updated_at=now
            ), PlanChange.UNCHANGED
        if is_upgrade(current, new):
            changed = msgspec.structs.replace(
                self, plan_code=new.code, pending_plan_code=None, updated_at=now
            )
            return changed, PlanChange.UPGRADED
        scheduled = msgspec.structs.replace(self, pending_plan_code=new.code, updated_at=now)
        return scheduled, PlanChange.DOWNGRADE_SCHEDULED

    def schedule_cancel(self, now: datetime) -> Subscription:
        self._require_paid("cancel")
        return msgspec.structs.replace(self, cancel_at_period_end=True, updated_at=now)

    def resume(self, now: datetime) -> Subscription:
        self._require_paid("resume")
        return msgspec.structs.replace(self, cancel_at_period_end=False, updated_at=now)

    def renew(self, now: datetime) -> Subscription:
        """At (or after) the period's end: the period holding ``now``, or the end."""
        self._require_paid("renew")
        if now < self.current_period_end:
            raise InvalidSubscriptionChange("The period has not ended yet.")
        if self.cancel_at_period_end:
            return msgspec.structs.replace(
                self,
                status=SubscriptionStatus.CANCELED,
                pending_plan_code=None,
                past_due_since=None,
                ended_at=self.current_period_end,
                ended_reason=EndReason.CANCELED,
                updated_at=now,
            )
        start, end = period_containing(self.current_period_end, interval_months(self.interval), now)
        return msgspec.structs.replace(
            self,
            plan_code=self.pending_plan_code or self.plan_code,
            pending_plan_code=None,
            current_period_start=start,
            current_period_end=end,
            updated_at=now,
        )

    def payment_failed(self, now: datetime) -> Subscription:
        if self.status is not SubscriptionStatus.ACTIVE:
            raise InvalidSubscriptionChange("Only an active subscription falls past due.")
        return msgspec.structs.replace(
            self, status=SubscriptionStatus.PAST_DUE, past_due_since=now, updated_at=now
        )

    def payment_succeeded(self, now: datetime) -> Subscription:
        if self.status not in {SubscriptionStatus.PAST_DUE, SubscriptionStatus.INCOMPLETE}:
            raise InvalidSubscriptionChange("Only a past-due or incomplete subscription is paid.")
        return msgspec.structs.replace(
            self, status=SubscriptionStatus.ACTIVE, past_due_since=None, updated_at=now
        )

    def cancel_now(self, now: datetime, reason: EndReason = EndReason.CANCELED) -> Subscription:
        if self.status is SubscriptionStatus.CANCELED:
            raise InvalidSubscriptionChange("The subscription has already ended.")
        return msgspec.structs.replace(
            self,
            status=SubscriptionStatus.CANCELED,
            cancel_at_period_end=False,
            pending_plan_code=None,
            past_due_since=None,
            ended_at=now,
            ended_reason=reason,
            updated_at=now,
        )

    def expire_incomplete(self, now: datetime) -> Subscription:
        if self.status is not SubscriptionStatus.INCOMPLETE:
            raise InvalidSubscriptionChange("Only an incomplete subscription expires.")
        return self.cancel_now(now, EndReason.INCOMPLETE_EXPIRED)

    def _require_paid(self, what: str) -> None:
        if self.status not in PAID:
            raise InvalidSubscriptionChange(
                f"A {self.status.value} subscription cannot {what}; start a plan first."
            )

    # --- what it allows ----------------------------------------------------------------

    @property
    def grace_ends_at(self) -> datetime | None:
        """When a past-due subscription's grace ends (None: not past due, or no start known)."""
        if self.status is not SubscriptionStatus.PAST_DUE or self.past_due_since is None:
            return None
        return self.past_due_since + PAYMENT_GRACE

    def access(self, now: datetime) -> Access:
        grace_end = self.grace_ends_at
        in_grace = grace_end is None or now < grace_end
        if (
            self.status is SubscriptionStatus.ACTIVE
            or (self.status is SubscriptionStatus.PAST_DUE and in_grace)
            or (self.status is SubscriptionStatus.TRIALING and not self.trial_over(now))
        ):
            return Access(ai=True, sending=True)
        if self.status is SubscriptionStatus.PAST_DUE:
            return Access(ai=False, sending=False, blocked=PaymentOverdue.code)
        if self.status is SubscriptionStatus.TRIALING or (
            self.ended_reason is EndReason.TRIAL_ENDED
        ):
            return Access(ai=False, sending=False, blocked=TrialEnded.code)
        return Access(ai=False, sending=False, blocked=SubscriptionInactive.code)

    def require_access(self, now: datetime, what: str = "AI work and sending") -> None:
        """Raise ``TrialEnded`` or ``SubscriptionInactive`` when AI work and sending are shut."""
        blocked = self.access(now).blocked
        if blocked == TrialEnded.code:
            raise TrialEnded(
                f"The free trial ended, so {what} stopped; your data is kept. "
                "Choose a plan to continue."
            )
        if blocked == PaymentOverdue.code:
            raise PaymentOverdue(
                f"A payment failed more than {PAYMENT_GRACE.days} days ago, so {what} stopped; "
                "your data is kept. Update the payment method in the billing portal."
            )
        if blocked is not None:
            raise SubscriptionInactive(
                f"{what[0].upper()}{what[1:]} need an active subscription; your data is kept."
            )

    def credit_period(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The credit period holding ``now``, or None when no credits are granted any more."""
        if self.status is SubscriptionStatus.TRIALING:
            assert self.trial_end is not None
            return (self.current_period_start, self.trial_end) if now < self.trial_end else None
        if self.status not in PAID:
            return None
        return credit_period(self.current_period_start, self.current_period_end, self.interval, now)

    def features(self, plan: Plan) -> frozenset[str]:
        """Every feature while trialing; the plan's otherwise."""
        if self.status is SubscriptionStatus.TRIALING:
            return ALL_FEATURES | plan.features
        return plan.features

    def limits(self, plan: Plan) -> PlanLimits:
        """The plan's limits, with bought seats added to the plan's."""
        limits = plan.limits
        if self.extra_seats and limits.seats is not None:
            return msgspec.structs.replace(limits, seats=limits.seats + self.extra_seats)
        return limits


def trial_days_left(subscription: Subscription, now: datetime) -> int | None:
    if subscription.status is not SubscriptionStatus.TRIALING or subscription.trial_end is None:
        return None
    left = subscription.trial_end - now
    return max(0, -(-int(left.total_seconds()) // 86_400))


# --- events -------------------------------------------------------------------------------


class SubscriptionEvent(Event, frozen=True, kw_only=True):
    aggregate_type: ClassVar[str] = "subscription"

    plan: str
    status: str


class TrialEndedEvent(SubscriptionEvent, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "subscription.trial_ended"


class SubscriptionActivated(SubscriptionEvent, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "subscription.activated"
    interval: str


class PlanChanged(SubscriptionEvent, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "subscription.plan_changed"
    previous_plan: str
    change: str


class SubscriptionRenewed(SubscriptionEvent, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "subscription.renewed"
    period_start: datetime
    period_end: datetime


class SubscriptionCanceled(SubscriptionEvent, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "subscription.canceled"
    reason: str
