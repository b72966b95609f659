"""How long credentials live (DESIGN.md conventions)."""

from __future__ import annotations

from datetime import timedelta

EMAIL_CONFIRMATION = timedelta(hours=48)
PASSWORD_RESET = timedelta(hours=1)
INVITE = timedelta(days=7)
SESSION_IDLE = timedelta(days=14)
SESSION_ABSOLUTE = timedelta(days=30)
# Sliding the idle deadline on every request would write on every request: once a minute is
# plenty for a 14-day idle limit.
SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
