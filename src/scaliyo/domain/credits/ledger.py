"""The AI-credit ledger of a workspace and its rules (PRODUCT.md, Credits).

A workspace's credits sit in two buckets: the period's ``allowance`` (granted afresh each
credit period, expiring at its end) and ``purchased`` credits (bought or granted by an operator;
kept). ``reserved`` is what open reservations hold. Rules:

- available = allowance + purchased − reserved, and it never goes below 0: a reservation that
  it cannot cover is refused (``insufficient_credits``) before any provider is called;
- over the ledger's life, available = Σ entries (grants, top-ups and purchases in; expiries
  and charges out) − the credits of open reservations;
- a reservation is settled once, to a charge capped at the reservation, and the rest is
  released; it can instead be released whole, or expire (a crashed worker) — either way once;
- charges use the allowance first (it expires), then purchased credits;
- a new credit period (one whose start is later than the current one's) grants the plan's
  allowance once, whatever asks for it; the old allowance expires, except what open
  reservations hold at that moment: those credits stay held, and what their settlement does
  not charge goes back to the balance;
- an upgrade tops the period's allowance up to the new plan's: the period's grant becomes the
  new allowance (the difference is added), once per period and target, never downwards;
- every change is keyed by an operation id, so doing it again has no second effect.

``Ledger`` is the rules' pure, in-memory form. The PostgreSQL adapter implements the same rules
with one conditional statement per change; tests hold both to them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

import msgspec

from scaliyo.domain.credits.operations import Operation, charge_for, operation, reservation_for
from scaliyo.domain.shared.errors import (
    Conflict,
    DomainError,
    ErrorKind,
    FieldError,
    NotFound,
    ValidationFailed,
)
from scaliyo.domain.shared.text import has_control_characters

OPERATION_ID_MAX_LENGTH = 200
# An open reservation whose worker has not settled it after this long is released by the
# reservation-expiry job: its worker is taken to have crashed.
RESERVATION_TTL = timedelta(minutes=30)


class InsufficientCredits(DomainError):
    code = "insufficient_credits"
    kind = ErrorKind.LIMIT
    title = "Not enough AI credits"

    def __init__(self, required: int, available: int) -> None:
        self.required = required
        self.available = available
        super().__init__(
            f"This operation needs {required} AI credit{'s' if required != 1 else ''} and "
            f"{max(available, 0)} {'is' if available == 1 else 'are'} available. "
            "Buy credits or upgrade the plan."
        )


class ReservationNotFound(NotFound):
    code = "reservation_not_found"
    title = "No such credit reservation"


class ReservationClosed(Conflict):
    code = "reservation_closed"
    title = "The credit reservation was released or has expired"


class OperationIdReused(Conflict):
    code = "operation_id_reused"
    title = "This operation id was used for another operation"


class ReservationStatus(StrEnum):
    OPEN = "open"
    SETTLED = "settled"
    RELEASED = "released"
    EXPIRED = "expired"


class EntryKind(StrEnum):
    GRANT = "grant"  # a period's allowance
    TOP_UP = "top_up"  # an upgrade's difference, into the allowance
    EXPIRE = "expire"  # allowance left at a period's end
    PURCHASE = "purchase"  # bought credits, kept
    MANUAL_GRANT = "manual_grant"  # granted by an operator, kept
    CHARGE = "charge"  # a settled operation


KEPT_KINDS = frozenset({EntryKind.PURCHASE, EntryKind.MANUAL_GRANT})


def operation_id(raw: str) -> str:
    """An operation id: 1–200 characters, no control characters."""
    if (
        not isinstance(raw, str)
        or not 0 < len(raw) <= OPERATION_ID_MAX_LENGTH
        or has_control_characters(raw)
    ):
        raise ValidationFailed(
            "An operation id is 1 to 200 printable characters.",
            errors=[FieldError("operation_id", "invalid", "1 to 200 printable characters.")],
        )
    return raw


def _stamp(moment: datetime) -> str:
    return moment.isoformat()


def grant_key(period_start: datetime) -> str:
    return f"period:{_stamp(period_start)}"


def expiry_key(period_start: datetime) -> str:
    """The expiry made when the period starting at ``period_start`` began."""
    return f"period-end:{_stamp(period_start)}"


def top_up_key(period_start: datetime, target: int) -> str:
    return f"top-up:{_stamp(period_start)}:{target}"


class Account(msgspec.Struct, frozen=True, kw_only=True):
    allowance: int = 0
    purchased: int = 0
    reserved: int = 0
    period_start: datetime | None = None
    period_end: datetime | None = None
    period_granted: int = 0
    period_spent: int = 0

    def __post_init__(self) -> None:
        if min(self.allowance, self.purchased, self.reserved, self.period_granted) < 0:
            raise ValueError("credit buckets are never negative")
        if self.allowance + self.purchased < self.reserved:
            raise ValueError("reservations never hold more than the balance")

    @property
    def available(self) -> int:
        return self.allowance + self.purchased - self.reserved

    def hold(self, credits: int) -> Account:
        if credits <= 0:
            raise ValueError("a reservation holds at least one credit")
        if self.available < credits:
            raise InsufficientCredits(credits, self.available)
        return msgspec.structs.replace(self, reserved=self.reserved + credits)

    def pay(self, held: int, charge: int) -> Account:
        """Settle a reservation of ``held`` credits to ``charge`` (≤ held); free the rest."""
        if not 0 <= charge <= held <= self.reserved:
            raise ValueError("a charge is within its reservation, which is within the held")
        from_allowance = min(self.allowance, charge)
        return msgspec.structs.replace(
            self,
            reserved=self.reserved - held,
            allowance=self.allowance - from_allowance,
            purchased=self.purchased - (charge - from_allowance),
            period_spent=self.period_spent + charge,
        )

    def free(self, held: int) -> Account:
        if not 0 <= held <= self.reserved:
            raise ValueError("only held credits are freed")
        return msgspec.structs.replace(self, reserved=self.reserved - held)

    def roll(self, start: datetime, end: datetime | None, grant: int) -> tuple[Account, int] | None:
        """Start the credit period ``[start, end)`` with ``grant``; None when it is not newer
        than the current one. Returns the account and how much allowance expired."""
        if grant < 0:
            raise ValueError("a grant is never negative")
        if self.period_start is not None and start <= self.period_start:
            return None
        expired = max(0, self.allowance - self.reserved)
        rolled = msgspec.structs.replace(
            self,
            allowance=self.allowance - expired + grant,
            period_start=start,
            period_end=end,
            period_granted=grant,
            period_spent=0,
        )
        return rolled, expired

    def top_up(self, start: datetime, target: int) -> tuple[Account, int] | None:
        """Raise the period's grant to ``target``; None when the period is another or the grant
        is already there."""
        if self.period_start != start or self.period_granted >= target:
            return None
        amount = target - self.period_granted
        topped = msgspec.structs.replace(
            self, allowance=self.allowance + amount, period_granted=target
        )
        return topped, amount

    def keep(self, amount: int) -> Account:
        if amount <= 0:
            raise ValueError("credits added are at least one")
        return msgspec.structs.replace(self, purchased=self.purchased + amount)


class Reservation(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    operation: Operation
    operation_id: str
    credits: int
    status: ReservationStatus
    created_at: datetime
    expires_at: datetime
    charged: int | None = None
    tokens: int | None = None


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    kind: EntryKind
    amount: int
    operation_id: str
    at: datetime
    reservation_id: UUID | None = None


class Ledger:
    """One workspace's ledger, in memory: the rules above, executable."""

    def __init__(self) -> None:
        self.account = Account()
        self.reservations: dict[UUID, Reservation] = {}
        self.entries: list[Entry] = []
        self._by_operation: dict[str, UUID] = {}
        self._keys: set[tuple[EntryKind, str]] = set()

    # --- the AI port -------------------------------------------------------------------

    def reserve(
        self,
        *,
        id: UUID,
        op: Operation | str,
        estimated_tokens: int,
        operation_id: str,
        now: datetime,
        ttl: timedelta = RESERVATION_TTL,
    ) -> Reservation:
        kind = operation(op)
        credits = reservation_for(kind, estimated_tokens)
        existing = self._by_operation.get(operation_id)
        if existing is not None:
            reservation = self.reservations[existing]
            if reservation.operation is not kind:
                raise OperationIdReused(
                    f"Operation id {operation_id!r} belongs to a {reservation.operation.value}."
                )
            return reservation
        self.account = self.account.hold(credits)
        reservation = Reservation(
            id=id,
            operation=kind,
            operation_id=operation_id,
            credits=credits,
            status=ReservationStatus.OPEN,
            created_at=now,
            expires_at=now + ttl,
        )
        self.reservations[id] = reservation
        self._by_operation[operation_id] = id
        return reservation

    def settle(self, reservation_id: UUID, tokens: int, now: datetime) -> Reservation:
        reservation = self._get(reservation_id)
        if reservation.status is ReservationStatus.SETTLED:
            return reservation
        if reservation.status is not ReservationStatus.OPEN:
            raise ReservationClosed()
        charge = min(charge_for(reservation.operation, tokens), reservation.credits)
        self.account = self.account.pay(reservation.credits, charge)
        settled = msgspec.structs.replace(
            reservation, status=ReservationStatus.SETTLED, charged=charge, tokens=tokens
        )
        self.reservations[reservation_id] = settled
        self._entry(EntryKind.CHARGE, -charge, reservation.operation_id, now, reservation_id)
        return settled

    def release(
        self,
        reservation_id: UUID,
        now: datetime,
        status: ReservationStatus = ReservationStatus.RELEASED,
    ) -> bool:
        """Free an open reservation whole; False when it was not open."""
        reservation = self._get(reservation_id)
        if reservation.status is not ReservationStatus.OPEN:
            return False
        self.account = self.account.free(reservation.credits)
        self.reservations[reservation_id] = msgspec.structs.replace(reservation, status=status)
        return True

    def expire_due(self, now: datetime) -> list[UUID]:
        due = [
            r.id
            for r in self.reservations.values()
            if r.status is ReservationStatus.OPEN and r.expires_at <= now
        ]
        for reservation_id in due:
            self.release(reservation_id, now, ReservationStatus.EXPIRED)
        return due

    # --- grants --------------------------------------------------------------------------

    def start_period(
        self, start: datetime, end: datetime | None, grant: int, now: datetime
    ) -> int | None:
        """Begin a credit period with ``grant``; the expired allowance, or None (not newer)."""
        rolled = self.account.roll(start, end, grant)
        if rolled is None:
            return None
        self.account, expired = rolled
        if expired:
            self._entry(EntryKind.EXPIRE, -expired, expiry_key(start), now)
        if grant:
            self._entry(EntryKind.GRANT, grant, grant_key(start), now)
        return expired

    def top_up(self, start: datetime, target: int, now: datetime) -> int | None:
        topped = self.account.top_up(start, target)
        if topped is None:
            return None
        self.account, amount = topped
        self._entry(EntryKind.TOP_UP, amount, top_up_key(start, target), now)
        return amount

    def add_kept(self, kind: EntryKind, amount: int, key: str, now: datetime) -> bool:
        """Purchased or operator-granted credits; False when ``key`` was used already."""
        if kind not in KEPT_KINDS:
            raise ValueError(f"{kind} credits are not kept credits")
        if (kind, key) in self._keys:
            return False
        self.account = self.account.keep(amount)
        self._entry(kind, amount, key, now)
        return True

    # --- reading -------------------------------------------------------------------------

    def open_reservations(self) -> list[Reservation]:
        return [r for r in self.reservations.values() if r.status is ReservationStatus.OPEN]

    def _get(self, reservation_id: UUID) -> Reservation:
        reservation = self.reservations.get(reservation_id)
        if reservation is None:
            raise ReservationNotFound()
        return reservation

    def _entry(
        self,
        kind: EntryKind,
        amount: int,
        key: str,
        now: datetime,
        reservation_id: UUID | None = None,
    ) -> None:
        if (kind, key) in self._keys:
            raise AssertionError(f"ledger key {kind}:{key} used twice")
        self._keys.add((kind, key))
        self.entries.append(
            Entry(kind=kind, amount=amount, operation_id=key, at=now, reservation_id=reservation_id)
        )
