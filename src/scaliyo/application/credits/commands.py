"""Credit commands, queries and their views."""

from __future__ import annotations

import msgspec

from scaliyo.application.bus import Command, Query
from scaliyo.application.shared.pagination import DEFAULT_LIMIT, Page


class LedgerLineView(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    at: str
    kind: str
    amount: int
    operation_id: str
    operation: str | None = None
    reservation_id: str | None = None
    tokens: int | None = None
    reason: str | None = None


class OpenReservationsView(msgspec.Struct, kw_only=True):
    count: int
    credits: int


class CreditPeriodView(msgspec.Struct, kw_only=True, omit_defaults=True):
    granted: int
    spent: int
    start: str | None = None
    end: str | None = None


class CreditsView(msgspec.Struct, kw_only=True):
    available: int
    allowance: int
    purchased: int
    reserved: int
    open_reservations: OpenReservationsView
    period: CreditPeriodView
    ledger: Page[LedgerLineView]


class CreditGrantResult(msgspec.Struct, kw_only=True):
    granted: bool
    operation_id: str
    available: int


class GetCredits(Query, frozen=True, kw_only=True):
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


class GrantCredits(Command, frozen=True, kw_only=True):
    """Operators: add ``amount`` kept credits to the request's workspace."""

    amount: int
    reason: str
    operation_id: str | None = None
