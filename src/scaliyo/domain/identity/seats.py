"""Seats: how many people a workspace may hold.

Seats used = members + pending, unexpired invites (an invite reserves the seat its invitee will
take). Until the plans issue lands every workspace has Starter's seats.
"""

from __future__ import annotations

from scaliyo.domain.shared.errors import DomainError, ErrorKind

STARTER_SEATS = 1


def plan_seats(plan: str | None = None) -> int:
    """The seats of a plan; every workspace is on Starter (or its trial) until plans exist."""
    return STARTER_SEATS


class SeatLimitReached(DomainError):
    code = "seat_limit_reached"
    kind = ErrorKind.LIMIT
    title = "Every seat of this workspace's plan is taken"


def ensure_seat_free(*, used: int, allowed: int) -> None:
    """Refuse one more seat when ``used`` already fills ``allowed``."""
    if used >= allowed:
        raise SeatLimitReached(
            f"All {allowed} seat{'s' if allowed != 1 else ''} of this workspace's plan are "
            "taken (members and pending invites). Upgrade, or revoke an invite or remove a "
            "member first."
        )
