"""Which plan limit holds each usage metric.

``admit`` reads the same limits inside its conditional statement (the SQL adapter mirrors this
mapping; a test holds them together); views and the in-memory fakes use this one.
"""

from __future__ import annotations

from scaliyo.domain.billing.plans import PlanLimits
from scaliyo.domain.usage.counters import BYTES_PER_MB, Metric


def plan_limit(metric: Metric, limits: PlanLimits) -> int | None:
    """The limit of ``metric`` under ``limits`` (None: no limit, or the subject's own)."""
    match metric:
        case Metric.CONTACTS:
            return limits.contacts
        case Metric.SEATS:
            return limits.seats
        case Metric.STORAGE_BYTES:
            return None if limits.storage_mb is None else limits.storage_mb * BYTES_PER_MB
        case Metric.EMAILS_DAILY:
            return limits.emails_per_day
        case Metric.EMAILS_MONTHLY:
            return limits.emails_per_month
        case Metric.LINKEDIN_ACTIONS_DAILY:
            return limits.linkedin_actions_per_day
        case Metric.LINKEDIN_ACTIONS_MONTHLY:
            return limits.linkedin_actions_per_month
        case Metric.SENDER_EMAILS_DAILY:
            return None
