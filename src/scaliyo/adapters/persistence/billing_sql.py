"""SQL fragments shared by the billing adapters."""

from __future__ import annotations

# The transaction's tenant, as the unit of work set it (NULL when none: nothing matches).
TENANT = "NULLIF(current_setting('app.workspace_id', true), '')::uuid"
# The subscription ``s`` lets AI work and sending run at ``:now``: paid, past due (dunning), or
# trialing within the trial (domain/billing/subscriptions.Subscription.access).
ACCESS_OPEN = (
    "(s.status IN ('active', 'past_due') "
    "OR (s.status = 'trialing' AND s.trial_end > CAST(:now AS timestamptz)))"
)
