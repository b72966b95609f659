"""The credit ledger on PostgreSQL: the rules of ``domain/credits/ledger.py``, each change one
conditional statement.

Every statement names the tenant through ``app.workspace_id`` (the unit of work sets it; row-level
security enforces it), so the ledger works in a transaction scoped after it began (a workspace
being created). The buckets live in ``credit_balances`` (one row per workspace, its CHECK refusing
a negative available balance); reservations in ``credit_reservations`` (unique per operation id);
grants, expiries, purchases and charges in ``credit_ledger`` (unique per kind and operation id).

How each change stays one statement:
- reserve: an UPDATE of the balance that holds the credits only if available ≥ credits, no
  reservation has the operation id and the subscription allows AI work, chained (WITH) to the
  INSERT of the reservation. Two calls with one operation id racing: the second's insert hits
  the unique key inside a savepoint, and the first's reservation is returned;
- settle / release / expire: an UPDATE of the reservation from ``open`` chained to the balance
  UPDATE and, for a settlement, to the INSERT of the charge;
- a new period / a top-up: the balance row is locked in the statement's first step
  (``FOR UPDATE``) and only a newer period (a higher grant) passes, so one grant per period
  holds under any concurrency; the grant and expiry entries are written by the same statement;
- kept credits: the INSERT of the entry (``ON CONFLICT DO NOTHING`` on its key) gates the
  balance UPDATE.
After a refusal, a plain read says why (the decision itself was atomic).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.persistence.billing_sql import ACCESS_OPEN, TENANT
from scaliyo.adapters.persistence.subscription_repository import subscription_from_row
from scaliyo.application.credits.ports import CreditBalance, LedgerLine
from scaliyo.domain.billing.subscriptions import SubscriptionInactive
from scaliyo.domain.credits.ledger import (
    KEPT_KINDS,
    RESERVATION_TTL,
    EntryKind,
    InsufficientCredits,
    OperationIdReused,
    Reservation,
    ReservationClosed,
    ReservationNotFound,
    ReservationStatus,
    expiry_key,
    grant_key,
    operation_id,
    top_up_key,
)
from scaliyo.domain.credits.operations import (
    MINIMUM_CREDITS,
    Operation,
    credits_for_tokens,
    operation,
    reservation_for,
)

ENTITLED = (
    f"EXISTS (SELECT 1 FROM subscriptions s WHERE s.workspace_id = {TENANT} AND {ACCESS_OPEN})"
)
AVAILABLE = "b.allowance + b.purchased - b.reserved"
# An operation's minimum cost, by the reservation's operation (domain/credits/operations.py).
MINIMUM = (
    "CASE r.operation "
    + " ".join(f"WHEN '{op.value}' THEN {n}" for op, n in MINIMUM_CREDITS.items())
    + " END"
)

_RESERVE = text(
    f"""
    WITH held AS (
        UPDATE credit_balances b
        SET reserved = b.reserved + CAST(:credits AS bigint), updated_at = CAST(:now AS timestamptz)
        WHERE b.workspace_id = {TENANT}
          AND {AVAILABLE} >= CAST(:credits AS bigint)
          AND NOT EXISTS (SELECT 1 FROM credit_reservations r
                          WHERE r.workspace_id = b.workspace_id
                            AND r.operation_id = CAST(:operation_id AS text))
          AND {ENTITLED}
        RETURNING b.workspace_id
    ), opened AS (
        INSERT INTO credit_reservations
            (id, workspace_id, operation_id, operation, credits, status, created_at, expires_at)
        SELECT CAST(:id AS uuid), held.workspace_id, CAST(:operation_id AS text),
               CAST(:operation AS text), CAST(:credits AS bigint), 'open',
               CAST(:now AS timestamptz), CAST(:expires_at AS timestamptz)
        FROM held
        RETURNING *
    )
    SELECT * FROM opened
    """
)

_SETTLE = text(
    f"""
    WITH closed AS (
        UPDATE credit_reservations r
        SET status = 'settled',
            charged = LEAST(GREATEST({MINIMUM}, CAST(:token_credits AS bigint)), r.credits),
            tokens = CAST(:tokens AS bigint), closed_at = CAST(:now AS timestamptz)
        WHERE r.workspace_id = {TENANT} AND r.id = CAST(:id AS uuid) AND r.status = 'open'
        RETURNING r.*
    ), paid AS (
        UPDATE credit_balances b
        SET reserved = b.reserved - closed.credits,
            allowance = b.allowance - LEAST(b.allowance, closed.charged),
            purchased = b.purchased - GREATEST(closed.charged - b.allowance, 0),
            period_spent = b.period_spent + closed.charged,
            updated_at = CAST(:now AS timestamptz)
        FROM closed
        WHERE b.workspace_id = closed.workspace_id
        RETURNING b.workspace_id
    ), charged AS (
        INSERT INTO credit_ledger
            (id, workspace_id, kind, amount, operation_id, operation, reservation_id, tokens, at)
        SELECT CAST(:entry_id AS uuid), closed.workspace_id, 'charge', -closed.charged,
               closed.operation_id, closed.operation, closed.id, closed.tokens,
               CAST(:now AS timestamptz)
        FROM closed
        WHERE closed.charged > 0
        RETURNING id
    )
    SELECT closed.* FROM closed JOIN paid USING (workspace_id)
    """
)


def _release_statement(*, only_due: bool) -> Any:
    due = "AND r.expires_at <= CAST(:now AS timestamptz)" if only_due else ""
    return text(
        f"""
        WITH closed AS (
            UPDATE credit_reservations r
            SET status = CAST(:status AS text), closed_at = CAST(:now AS timestamptz)
            WHERE r.workspace_id = {TENANT} AND r.id = CAST(:id AS uuid) AND r.status = 'open'
              {due}
            RETURNING r.workspace_id, r.credits
        ), freed AS (
            UPDATE credit_balances b
            SET reserved = b.reserved - closed.credits, updated_at = CAST(:now AS timestamptz)
            FROM closed
            WHERE b.workspace_id = closed.workspace_id
            RETURNING b.workspace_id
        )
        SELECT closed.credits FROM closed JOIN freed USING (workspace_id)
        """
    )


_RELEASE = _release_statement(only_due=False)
_EXPIRE = _release_statement(only_due=True)

_OPEN_ACCOUNT = text(
    f"""
    INSERT INTO credit_balances (workspace_id) VALUES ({TENANT})
    ON CONFLICT (workspace_id) DO NOTHING
    """
)

_START_PERIOD = text(
    f"""
    WITH cur AS (
        SELECT b.workspace_id, b.allowance, b.reserved
        FROM credit_balances b
        WHERE b.workspace_id = {TENANT}
          AND (b.period_start IS NULL OR b.period_start < CAST(:start AS timestamptz))
        FOR UPDATE
    ), moved AS (
        UPDATE credit_balances b
        SET allowance = LEAST(cur.allowance, cur.reserved) + CAST(:grant AS bigint),
            period_start = CAST(:start AS timestamptz),
            period_end = CAST(:end AS timestamptz),
            period_granted = CAST(:grant AS bigint),
            period_spent = 0,
            updated_at = CAST(:now AS timestamptz)
        FROM cur
        WHERE b.workspace_id = cur.workspace_id
        RETURNING b.workspace_id, GREATEST(cur.allowance - cur.reserved, 0) AS expired
    ), expiry AS (
        INSERT INTO credit_ledger (id, workspace_id, kind, amount, operation_id, reason, actor, at)
        SELECT CAST(:expire_id AS uuid), moved.workspace_id, 'expire', -moved.expired,
               CAST(:expire_key AS text), CAST(:reason AS text), CAST(:actor AS text),
               CAST(:now AS timestamptz)
        FROM moved
        WHERE moved.expired > 0
        RETURNING id
    ), granted AS (
        INSERT INTO credit_ledger (id, workspace_id, kind, amount, operation_id, reason, actor, at)
        SELECT CAST(:grant_id AS uuid), moved.workspace_id, 'grant', CAST(:grant AS bigint),
               CAST(:grant_key AS text), CAST(:reason AS text), CAST(:actor AS text),
               CAST(:now AS timestamptz)
        FROM moved
        WHERE CAST(:grant AS bigint) > 0
        RETURNING id
    )
    SELECT moved.expired FROM moved
    """
)

_TOP_UP = text(
    f"""
    WITH cur AS (
        SELECT b.workspace_id, b.period_granted
        FROM credit_balances b
        WHERE b.workspace_id = {TENANT}
          AND b.period_start = CAST(:start AS timestamptz)
          AND b.period_granted < CAST(:target AS bigint)
        FOR UPDATE
    ), moved AS (
        UPDATE credit_balances b
        SET allowance = b.allowance + (CAST(:target AS bigint) - cur.period_granted),
            period_granted = CAST(:target AS bigint),
            updated_at = CAST(:now AS timestamptz)
        FROM cur
        WHERE b.workspace_id = cur.workspace_id
        RETURNING b.workspace_id, CAST(:target AS bigint) - cur.period_granted AS amount
    ), entry AS (
        INSERT INTO credit_ledger (id, workspace_id, kind, amount, operation_id, reason, actor, at)
        SELECT CAST(:id AS uuid), moved.workspace_id, 'top_up', moved.amount,
               CAST(:key AS text), CAST(:reason AS text), CAST(:actor AS text),
               CAST(:now AS timestamptz)
        FROM moved
        RETURNING id
    )
    SELECT moved.amount FROM moved
    """
)

_ADD_KEPT = text(
    f"""
    WITH entry AS (
        INSERT INTO credit_ledger (id, workspace_id, kind, amount, operation_id, reason, actor, at)
        SELECT CAST(:id AS uuid), b.workspace_id, CAST(:kind AS text), CAST(:amount AS bigint),
               CAST(:key AS text), CAST(:reason AS text), CAST(:actor AS text),
               CAST(:now AS timestamptz)
        FROM credit_balances b
        WHERE b.workspace_id = {TENANT}
        ON CONFLICT (workspace_id, kind, operation_id) DO NOTHING
        RETURNING workspace_id, amount
    ), added AS (
        UPDATE credit_balances b
        SET purchased = b.purchased + entry.amount, updated_at = CAST(:now AS timestamptz)
        FROM entry
        WHERE b.workspace_id = entry.workspace_id
        RETURNING b.workspace_id
    )
    SELECT count(*) FROM added
    """
)

_BALANCE = text(f"SELECT * FROM credit_balances WHERE workspace_id = {TENANT}")
_RESERVATION_BY_ID = text(
    f"SELECT * FROM credit_reservations WHERE workspace_id = {TENANT} AND id = CAST(:id AS uuid)"
)
_RESERVATION_BY_OPERATION = text(
    f"SELECT * FROM credit_reservations WHERE workspace_id = {TENANT} "
    "AND operation_id = CAST(:operation_id AS text)"
)
_SUBSCRIPTION = text(f"SELECT * FROM subscriptions WHERE workspace_id = {TENANT}")
# Why a reservation was refused, in one read: the operation id is known, AI work is shut, or
# the balance is short.
_WHY_REFUSED = text(
    f"""
    SELECT EXISTS (SELECT 1 FROM credit_reservations r
                   WHERE r.workspace_id = {TENANT}
                     AND r.operation_id = CAST(:operation_id AS text)) AS known,
           {ENTITLED} AS entitled,
           (SELECT {AVAILABLE} FROM credit_balances b WHERE b.workspace_id = {TENANT})
               AS available
    """
)
_OPEN_RESERVATIONS = text(
    f"SELECT count(*) AS n, coalesce(sum(credits), 0) AS held FROM credit_reservations "
    f"WHERE workspace_id = {TENANT} AND status = 'open'"
)
_LINES = text(
    f"""
    SELECT * FROM credit_ledger
    WHERE workspace_id = {TENANT}
      AND (CAST(:before AS uuid) IS NULL OR id < CAST(:before AS uuid))
    ORDER BY id DESC
    LIMIT :limit
    """
)


def reservation_from_row(row: Row[Any]) -> Reservation:
    return Reservation(
        id=row.id,
        operation=Operation(row.operation),
        operation_id=row.operation_id,
        credits=row.credits,
        status=ReservationStatus(row.status),
        created_at=row.created_at,
        expires_at=row.expires_at,
        charged=row.charged,
        tokens=row.tokens,
    )


def balance_from_row(row: Row[Any]) -> CreditBalance:
    return CreditBalance(
        available=row.allowance + row.purchased - row.reserved,
        allowance=row.allowance,
        purchased=row.purchased,
        reserved=row.reserved,
        period_granted=row.period_granted,
        period_spent=row.period_spent,
        period_start=row.period_start,
        period_end=row.period_end,
    )


class SqlCreditLedger:
    """The ledger of the connection's tenant, in the connection's transaction."""

    def __init__(self, connection: AsyncConnection, *, ttl: timedelta = RESERVATION_TTL) -> None:
        self._connection = connection
        self._ttl = ttl

    # --- the AI port ----------------------------------------------------------------------

    async def reserve(
        self, op: Operation | str, estimated_tokens: int, operation_key: str, *, now: datetime
    ) -> Reservation:
        kind = operation(op)
        credits = reservation_for(kind, estimated_tokens)
        key = operation_id(operation_key)
        params = {
            "id": new_id(),
            "operation_id": key,
            "operation": kind.value,
            "credits": credits,
            "now": now,
            "expires_at": now + self._ttl,
        }
        for _ in range(3):
            try:
                async with self._connection.begin_nested():
                    row = (await self._connection.execute(_RESERVE, params)).first()
            except IntegrityError:
                row = None  # the same operation id, reserved concurrently: read it below
            if row is not None:
                return reservation_from_row(row)
            why = (
                await self._connection.execute(_WHY_REFUSED, {"operation_id": key, "now": now})
            ).one()
            if why.known:
                existing = await self._reservation_by_operation(key)
                assert existing is not None
                if existing.operation is not kind:
                    raise OperationIdReused(
                        f"Operation id {key!r} belongs to a {existing.operation.value}."
                    )
                return existing
            if not why.entitled:
                await self._require_entitled(now)
            available = why.available or 0
            if available < credits:
                raise InsufficientCredits(credits, available)
            # Credits were freed between the refusal and this read: try again.
        raise InsufficientCredits(credits, 0)

    async def settle(self, reservation_id: UUID, tokens: int, *, now: datetime) -> Reservation:
        """Charge max(minimum, ceil(tokens / 800)), capped at the reservation (computed in the
        statement from the reservation's own operation)."""
        params = {
            "id": reservation_id,
            "token_credits": credits_for_tokens(tokens),
            "tokens": tokens,
            "now": now,
            "entry_id": new_id(),
        }
        row = (await self._connection.execute(_SETTLE, params)).first()
        if row is not None:
            return reservation_from_row(row)
        after = await self._reservation(reservation_id)
        if after.status is ReservationStatus.SETTLED:
            return after
        raise ReservationClosed(
            f"The reservation was {after.status.value}; its credits were freed already."
        )

    async def release(self, reservation_id: UUID, *, now: datetime) -> bool:
        return await self._close(_RELEASE, reservation_id, ReservationStatus.RELEASED, now)

    async def expire(self, reservation_id: UUID, *, now: datetime) -> bool:
        """Release an open reservation whose time is up (the expiry job)."""
        return await self._close(_EXPIRE, reservation_id, ReservationStatus.EXPIRED, now)

    async def _close(
        self, statement: Any, reservation_id: UUID, status: ReservationStatus, now: datetime
    ) -> bool:
        params = {"id": reservation_id, "status": status.value, "now": now}
        row = (await self._connection.execute(statement, params)).first()
        return row is not None

    # --- grants ---------------------------------------------------------------------------

    async def open_account(self) -> None:
        await self._connection.execute(_OPEN_ACCOUNT)

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
        if grant < 0:
            raise ValueError("a grant is never negative")
        params = {
            "start": start,
            "end": end,
            "grant": grant,
            "now": now,
            "reason": reason,
            "actor": actor,
            "expire_id": new_id(),
            "expire_key": expiry_key(start),
            "grant_id": new_id(),
            "grant_key": grant_key(start),
        }
        expired = (await self._connection.execute(_START_PERIOD, params)).scalar()
        return None if expired is None else int(expired)

    async def top_up(
        self,
        *,
        start: datetime,
        target: int,
        now: datetime,
        reason: str | None = None,
        actor: str | None = None,
    ) -> int | None:
        params = {
            "start": start,
            "target": target,
            "now": now,
            "reason": reason,
            "actor": actor,
            "id": new_id(),
            "key": top_up_key(start, target),
        }
        amount = (await self._connection.execute(_TOP_UP, params)).scalar()
        return None if amount is None else int(amount)

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
        if kind not in KEPT_KINDS:
            raise ValueError(f"{kind} credits are not kept credits")
        if amount <= 0:
            raise ValueError("credits added are at least one")
        params = {
            "id": new_id(),
            "kind": kind.value,
            "amount": amount,
            "key": operation_id,
            "reason": reason,
            "actor": actor,
            "now": now,
        }
        return bool((await self._connection.execute(_ADD_KEPT, params)).scalar())

    # --- reading --------------------------------------------------------------------------

    async def balance(self) -> CreditBalance | None:
        row = (await self._connection.execute(_BALANCE)).first()
        return None if row is None else balance_from_row(row)

    async def open_reservations(self) -> tuple[int, int]:
        row = (await self._connection.execute(_OPEN_RESERVATIONS)).one()
        return int(row.n), int(row.held)

    async def lines(self, *, limit: int, before: UUID | None) -> list[LedgerLine]:
        rows = await self._connection.execute(_LINES, {"limit": limit, "before": before})
        return [
            LedgerLine(
                id=row.id,
                kind=EntryKind(row.kind),
                amount=row.amount,
                operation_id=row.operation_id,
                at=row.at,
                operation=row.operation,
                reservation_id=row.reservation_id,
                tokens=row.tokens,
                reason=row.reason,
                actor=row.actor,
            )
            for row in rows
        ]

    async def _reservation(self, reservation_id: UUID) -> Reservation:
        row = (await self._connection.execute(_RESERVATION_BY_ID, {"id": reservation_id})).first()
        if row is None:
            raise ReservationNotFound()
        return reservation_from_row(row)

    async def _reservation_by_operation(self, key: str) -> Reservation | None:
        row = (
            await self._connection.execute(_RESERVATION_BY_OPERATION, {"operation_id": key})
        ).first()
        return None if row is None else reservation_from_row(row)

    async def _require_entitled(self, now: datetime) -> None:
        row = (await self._connection.execute(_SUBSCRIPTION)).first()
        if row is None:
            raise SubscriptionInactive("AI work needs a subscription; this workspace has none.")
        subscription_from_row(row).require_access(now, "AI work")
