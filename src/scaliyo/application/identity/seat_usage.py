"""Seats in use: the workspace's members plus its pending, unexpired invites."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class _Members(Protocol):
    async def count(self) -> int: ...


class _Invites(Protocol):
    async def count_pending(self, now: datetime) -> int: ...


class SeatHolders(Protocol):
    memberships: _Members
    invites: _Invites


async def seats_in_use(uow: SeatHolders, now: datetime) -> int:
    return await uow.memberships.count() + await uow.invites.count_pending(now)
