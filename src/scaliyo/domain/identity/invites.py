"""Invites: a single-use emailed token that makes its holder a member, for 7 days.

An invite is pending until it is accepted, revoked or past its expiry; only a pending invite can
be accepted (an expired, used, revoked or unknown token is one answer: ``invalid_token``).
Re-inviting an address with a pending invite replaces that invite (its old token stops working).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from scaliyo.domain.identity import lifetimes
from scaliyo.domain.shared.errors import Conflict, NotFound


class InviteStatus(StrEnum):
    PENDING = "pending"
    EXPIRED = "expired"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


def invite_status(
    *,
    expires_at: datetime,
    accepted_at: datetime | None,
    revoked_at: datetime | None,
    now: datetime,
) -> InviteStatus:
    if accepted_at is not None:
        return InviteStatus.ACCEPTED
    if revoked_at is not None:
        return InviteStatus.REVOKED
    if now >= expires_at:
        return InviteStatus.EXPIRED
    return InviteStatus.PENDING


def invite_expiry(created_at: datetime) -> datetime:
    return created_at + lifetimes.INVITE


class InviteNotFound(NotFound):
    code = "invite_not_found"
    title = "No such invite in this workspace"


class InviteAlreadyAccepted(Conflict):
    code = "invite_already_accepted"
    title = "This invite was accepted already"
