"""Billing periods and the monthly credit periods inside them.

Rules:
- a period is half-open, ``[start, end)``;
- months are counted from the period's anchor, never chained, so a period anchored on the 31st
  ends on the last day of shorter months and returns to the 31st after them;
- the credit (allowance) period of a monthly plan is its billing period; an annual plan's year
  is cut into twelve monthly credit periods from its anchor, the last one ending with the year.
"""

from __future__ import annotations

import calendar
from datetime import datetime

from scaliyo.domain.billing.plans import Interval


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` moved by whole calendar months, the day clamped to the month's length."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def interval_months(interval: Interval) -> int:
    return 12 if interval is Interval.YEAR else 1


def period_containing(anchor: datetime, months: int, at: datetime) -> tuple[datetime, datetime]:
    """The period of ``months`` months, counted from ``anchor``, that holds ``at`` (at ≥ anchor
    gives a period after the anchor; earlier moments give the anchor's own period)."""
    if at < anchor:
        return anchor, add_months(anchor, months)
    approx = ((at.year - anchor.year) * 12 + at.month - anchor.month) // months
    k = max(approx - 1, 0)
    while add_months(anchor, (k + 1) * months) <= at:
        k += 1
    return add_months(anchor, k * months), add_months(anchor, (k + 1) * months)


def credit_period(
    billing_start: datetime, billing_end: datetime, interval: Interval, at: datetime
) -> tuple[datetime, datetime]:
    """The credit period of the billing period ``[billing_start, billing_end)`` that holds
    ``at`` (clamped into the billing period). A monthly plan has one, the billing period itself;
    an annual plan has twelve, months from the anchor, the twelfth ending with the year."""
    slices = interval_months(interval)
    moment = min(max(at, billing_start), billing_end)
    start = billing_start
    for k in range(slices - 1):
        end = add_months(billing_start, k + 1)
        if end > moment or end >= billing_end:
            return start, min(end, billing_end)
        start = end
    return start, billing_end
