"""SQL fragments shared by the billing adapters."""

from __future__ import annotations

from scaliyo.domain.billing.subscriptions import PAYMENT_GRACE

# The transaction's tenant, as the unit of work set it (NULL when none: nothing matches).
TENANT = "NULLIF(current_setting('app.workspace_id', true), '')::uuid"
# The subscription ``s`` lets AI work and sending run at ``:now``: active, past due within its
# grace period (dunning), or trialing within the trial
# (domain/billing/subscriptions.Subscription.access).
ACCESS_OPEN = (
    "(s.status = 'active' "
    "OR (s.status = 'past_due' AND (s.past_due_since IS NULL "
    f"OR s.past_due_since > CAST(:now AS timestamptz) - interval '{PAYMENT_GRACE.days} days')) "
    "OR (s.status = 'trialing' AND s.trial_end > CAST(:now AS timestamptz)))"
)
