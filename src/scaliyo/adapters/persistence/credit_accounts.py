"""The ``Credits`` port for AI features: each call is one short transaction as ``scaliyo_app`` in
the workspace, never held open across a provider call (see ``application/credits/ports.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.persistence.credit_ledger import SqlCreditLedger
from scaliyo.adapters.persistence.unit_of_work import set_tenant
from scaliyo.application.credits.ports import CreditBalance
from scaliyo.application.shared.ports import Clock
from scaliyo.domain.credits.ledger import RESERVATION_TTL, Reservation
from scaliyo.domain.credits.operations import Operation
from scaliyo.domain.shared.ids import WorkspaceId

T = TypeVar("T")


class SqlCreditAccounts:
    """``for_workspace(id)`` is that workspace's ``Credits``."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock, *, ttl: timedelta = RESERVATION_TTL
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._ttl = ttl

    def for_workspace(self, workspace_id: WorkspaceId) -> SqlCredits:
        return SqlCredits(self._engine, workspace_id, self._clock, self._ttl)


class SqlCredits:
    def __init__(
        self, engine: AsyncEngine, workspace_id: WorkspaceId, clock: Clock, ttl: timedelta
    ) -> None:
        self._engine = engine
        self._workspace_id = workspace_id
        self._clock = clock
        self._ttl = ttl

    async def _in_transaction(self, work: Callable[[SqlCreditLedger], Awaitable[T]]) -> T:
        async with self._engine.begin() as connection:
            await set_tenant(connection, self._workspace_id)
            return await work(SqlCreditLedger(connection, ttl=self._ttl))

    async def reserve(
        self, operation: Operation | str, estimated_tokens: int, operation_id: str
    ) -> Reservation:
        now = self._clock.now()
        return await self._in_transaction(
            lambda ledger: ledger.reserve(operation, estimated_tokens, operation_id, now=now)
        )

    async def settle(self, reservation: Reservation | UUID, tokens: int) -> Reservation:
        reservation_id = reservation.id if isinstance(reservation, Reservation) else reservation
        now = self._clock.now()
        return await self._in_transaction(
            lambda ledger: ledger.settle(reservation_id, tokens, now=now)
        )

    async def release(self, reservation: Reservation | UUID) -> bool:
        reservation_id = reservation.id if isinstance(reservation, Reservation) else reservation
        now = self._clock.now()
        return await self._in_transaction(lambda ledger: ledger.release(reservation_id, now=now))

    async def balance(self) -> CreditBalance:
        async def read(ledger: SqlCreditLedger) -> CreditBalance:
            balance = await ledger.balance()
            return balance or CreditBalance(
                available=0, allowance=0, purchased=0, reserved=0, period_granted=0, period_spent=0
            )

        return await self._in_transaction(read)
