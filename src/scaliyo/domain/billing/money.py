"""Prices: integer minor units plus an ISO currency (DESIGN.md conventions)."""

from __future__ import annotations

import re

ANNUAL_DISCOUNT_PERCENT = 15
_CURRENCY = re.compile(r"^[a-z]{3}$")


def annual_price_cents(monthly_cents: int) -> int:
    """12 × the monthly price less 15 %, rounded half up to the cent, in integer arithmetic.

    12 × m × (100 − 15) / 100 = m × 1020 / 100; adding half the divisor before the floor
    division rounds half up (prices are never negative).
    """
    if monthly_cents < 0:
        raise ValueError("a price cannot be negative")
    numerator = monthly_cents * 12 * (100 - ANNUAL_DISCOUNT_PERCENT)
    return (numerator + 50) // 100


def check_currency(code: str) -> str:
    """An ISO 4217 code in lower case (``usd``), as Stripe spells it."""
    if not _CURRENCY.match(code):
        raise ValueError(f"{code!r} is not a lower-case ISO 4217 currency code")
    return code
