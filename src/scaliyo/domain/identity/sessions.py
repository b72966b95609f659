"""Server-side sessions with an idle and an absolute lifetime."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

import msgspec

from scaliyo.domain.identity import lifetimes
from scaliyo.domain.shared.ids import UserId, WorkspaceId


class SessionState(StrEnum):
    ACTIVE = "active"
    IDLE_EXPIRED = "idle_expired"
    EXPIRED = "expired"
    REVOKED = "revoked"


class Session(msgspec.Struct, kw_only=True):
    id: UUID
    user_id: UserId
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current_workspace_id: WorkspaceId | None = None
    revoked_at: datetime | None = None
    user_agent: str | None = None
    ip: str | None = None

    def state(self, now: datetime) -> SessionState:
        if self.revoked_at is not None:
            return SessionState.REVOKED
        if now >= self.expires_at:
            return SessionState.EXPIRED
        if now >= self.last_seen_at + lifetimes.SESSION_IDLE:
            return SessionState.IDLE_EXPIRED
        return SessionState.ACTIVE

    def needs_touch(self, now: datetime) -> bool:
        return now - self.last_seen_at >= lifetimes.SESSION_TOUCH_INTERVAL


def absolute_expiry(created_at: datetime) -> datetime:
    return created_at + lifetimes.SESSION_ABSOLUTE
