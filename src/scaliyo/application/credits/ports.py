"""Ports of the credit ledger.

``Credits`` is what every AI feature calls, around each provider call::

    credits = accounts.for_workspace(workspace_id)
    reservation = await credits.reserve("email_sequence", prompt_tokens + max_output_tokens,
                                        operation_id=f"job:{job_id}:step:{n}")
    try:
        result = await provider.generate(...)
    except Exception:
        await credits.release(reservation)
        raise
    await credits.settle(reservation, result.total_tokens)

Each call is its own short transaction (never held open across the provider call) and one
conditional statement; the operation id makes a retried call harmless: reserving again with the
same id returns the same reservation, settling or releasing again changes nothing. ``reserve``
refuses with ``insufficient_credits`` (nothing is held), ``trial_ended`` or
``subscription_inactive`` before any provider is called.

``CreditLedger`` is the same ledger inside a unit of work (the uow's workspace and transaction):
account set-up, period grants, top-ups and operator grants happen there, together with the
change that causes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from scaliyo.domain.credits.ledger import EntryKind, Reservation
from scaliyo.domain.credits.operations import Operation
from scaliyo.domain.shared.ids import WorkspaceId


class CreditBalance(msgspec.Struct, frozen=True, kw_only=True):
    available: int
    allowance: int
    purchased: int
    reserved: int
    period_granted: int
    period_spent: int
    period_start: datetime | None = None
    period_end: datetime | None = None


class LedgerLine(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    kind: EntryKind
    amount: int
    operation_id: str
    at: datetime
    operation: str | None = None
    reservation_id: UUID | None = None
    tokens: int | None = None
    reason: str | None = None
    actor: str | None = None


class Credits(Protocol):
    """One workspace's credits, for AI features (each call its own transaction)."""

    async def reserve(
        self, operation: Operation | str, estimated_tokens: int, operation_id: str
    ) -> Reservation:
        """Hold max(minimum, ceil(estimated_tokens / 800)) credits for ``operation``, where
        ``estimated_tokens`` = prompt tokens + max output tokens."""
        ...

    async def settle(self, reservation: Reservation | UUID, tokens: int) -> Reservation:
        """Charge max(minimum, ceil(tokens / 800)), capped at the reservation; free the rest.
        A settled reservation is returned as it is; a released or expired one is
        ``reservation_closed``."""
        ...

    async def release(self, reservation: Reservation | UUID) -> bool:
        """Free the whole reservation (the call failed); False when it was not open."""
        ...

    async def balance(self) -> CreditBalance: ...


class CreditAccounts(Protocol):
    def for_workspace(self, workspace_id: WorkspaceId) -> Credits: ...


class CreditLedger(Protocol):
    """The ledger of the unit of work's workspace, in its transaction."""

    async def reserve(
        self, operation: Operation | str, estimated_tokens: int, operation_id: str, *, now: datetime
    ) -> Reservation: ...

    async def settle(self, reservation_id: UUID, tokens: int, *, now: datetime) -> Reservation: ...

    async def release(self, reservation_id: UUID, *, now: datetime) -> bool: ...

    async def open_account(self) -> None:
        """Create the workspace's (empty) account where absent."""
        ...

    async def start_period(
        self,
        *,
        start: datetime,
        end: datetime | None,
        grant: int,
        now: datetime,
        reason: str | None = None,
        actor: str | None = None,
    ) -> int | None:
        """Begin the credit period ``[start, end)`` with ``grant``: the expired allowance, or
        None when the account's period is not older (the grant was made already)."""
        ...

    async def top_up(
        self,
        *,
        start: datetime,
        target: int,
        now: datetime,
        reason: str | None = None,
        actor: str | None = None,
    ) -> int | None:
        """Raise the grant of the period starting at ``start`` to ``target``: the credits
        added, or None (another period, or already there)."""
        ...

    async def add_kept(
        self,
        *,
        kind: EntryKind,
        amount: int,
        operation_id: str,
        now: datetime,
        reason: str | None = None,
        actor: str | None = None,
    ) -> bool:
        """Add purchased or operator-granted credits once per operation id."""
        ...

    async def balance(self) -> CreditBalance | None: ...

    async def open_reservations(self) -> tuple[int, int]:
        """How many reservations are open, and the credits they hold."""
        ...

    async def lines(self, *, limit: int, before: UUID | None) -> list[LedgerLine]:
        """Ledger entries, newest first, older than ``before`` when given."""
        ...
