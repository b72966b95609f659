"""Usage counters and limit checks (PRODUCT.md, Usage counters).

Every counted thing is a ``Metric`` with a window:
- ``total`` (a gauge of what exists: contacts, seats, storage) goes up when something is created
  and down when it is removed;
- ``day`` and ``month`` count what happened in a UTC calendar day or month (e-mails sent and
  LinkedIn actions per workspace), except a sender's daily count, which follows the sender's
  time zone.
A counter is keyed by metric, subject (a sender's id for per-sender counts, else empty) and
period key (``total``, ``2026-11-30``, ``2026-11``): a new day or month is a new counter, so
periods roll over by themselves and old ones are only purged.

Rules:
- a check admits ``amount`` more when used + amount ≤ limit (no limit: always), and counts it
  in the same step, so concurrent creations cannot pass a limit together;
- a refused check counts nothing; checks made together are all admitted or none;
- giving back never takes a counter below 0.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from scaliyo.domain.shared.errors import DomainError, ErrorKind, FieldError, ValidationFailed

BYTES_PER_MB = 1_000_000
TOTAL = "total"


class Window(StrEnum):
    TOTAL = "total"
    DAY = "day"
    MONTH = "month"


class Metric(StrEnum):
    CONTACTS = "contacts"
    SEATS = "seats"
    STORAGE_BYTES = "storage_bytes"
    EMAILS_DAILY = "emails_daily"
    EMAILS_MONTHLY = "emails_monthly"
    SENDER_EMAILS_DAILY = "sender_emails_daily"
    LINKEDIN_ACTIONS_DAILY = "linkedin_actions_daily"
    LINKEDIN_ACTIONS_MONTHLY = "linkedin_actions_monthly"

    @property
    def window(self) -> Window:
        return _WINDOWS[self]

    @property
    def sending(self) -> bool:
        """Counts sending: refused when the subscription has stopped sending."""
        return self in SENDING_METRICS


_WINDOWS = {
    Metric.CONTACTS: Window.TOTAL,
    Metric.SEATS: Window.TOTAL,
    Metric.STORAGE_BYTES: Window.TOTAL,
    Metric.EMAILS_DAILY: Window.DAY,
    Metric.EMAILS_MONTHLY: Window.MONTH,
    Metric.SENDER_EMAILS_DAILY: Window.DAY,
    Metric.LINKEDIN_ACTIONS_DAILY: Window.DAY,
    Metric.LINKEDIN_ACTIONS_MONTHLY: Window.MONTH,
}
SENDING_METRICS = frozenset(
    {
        Metric.EMAILS_DAILY,
        Metric.EMAILS_MONTHLY,
        Metric.SENDER_EMAILS_DAILY,
        Metric.LINKEDIN_ACTIONS_DAILY,
        Metric.LINKEDIN_ACTIONS_MONTHLY,
    }
)
# Per-subject metrics take their limit from the subject (a sender's daily cap), not the plan.
SUBJECT_METRICS = frozenset({Metric.SENDER_EMAILS_DAILY})


class LimitReached(DomainError):
    code = "limit_reached"
    kind = ErrorKind.LIMIT
    title = "A limit of this workspace's plan is reached"

    def __init__(self, metric: Metric, limit: int | None, detail: str | None = None) -> None:
        self.metric = metric
        self.limit = limit
        super().__init__(
            detail
            or f"The {metric.value.replace('_', ' ')} limit ({limit}) is reached; upgrade the "
            "plan or wait for the counter to reset."
        )


class Check(msgspec.Struct, frozen=True, kw_only=True):
    """One limit check: count ``amount`` more of ``metric``.

    ``subject`` names the counted thing for per-subject metrics (a sender id), ``limit`` is its
    own limit for those (the plan's applies otherwise), ``time_zone`` its day's zone.
    """

    metric: Metric
    amount: int = 1
    subject: str | None = None
    limit: int | None = None
    time_zone: str | None = None

    def __post_init__(self) -> None:
        if self.amount < 1:
            raise ValueError("a check counts at least 1")
        if (self.metric in SUBJECT_METRICS) != (self.subject is not None):
            raise ValueError(f"{self.metric.value} is counted per subject exactly when it is one")
        if self.limit is not None and self.metric not in SUBJECT_METRICS:
            raise ValueError("only per-subject metrics bring their own limit")
        if self.limit is not None and self.limit < 0:
            raise ValueError("a limit is never negative")


def zone(name: str | None) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"{name!r} is not a time zone.",
            errors=[FieldError("time_zone", "invalid_time_zone", "An IANA time zone name.")],
        ) from None


def period_key(metric: Metric, at: datetime, time_zone: str | None = None) -> str:
    """The key of the counter period holding ``at``: UTC days and months, a sender's days in its
    own zone."""
    if metric.window is Window.TOTAL:
        return TOTAL
    local = at.astimezone(zone(time_zone)) if time_zone else at.astimezone(ZoneInfo("UTC"))
    if metric.window is Window.DAY:
        return local.date().isoformat()
    return f"{local.year:04d}-{local.month:02d}"


def admits(used: int, amount: int, limit: int | None) -> bool:
    return limit is None or used + amount <= limit
