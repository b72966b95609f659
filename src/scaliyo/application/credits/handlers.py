"""Credit handlers: the workspace's balance and ledger, and operators' grants."""

from __future__ import annotations

from collections.abc import Mapping

from scaliyo.application.billing.access import require_billing_read, require_operator
from scaliyo.application.billing.ports import BillingUnitOfWork
from scaliyo.application.bus import Context, Handler, Message
from scaliyo.application.credits.commands import (
    CreditGrantResult,
    CreditPeriodView,
    CreditsView,
    GetCredits,
    GrantCredits,
    LedgerLineView,
    OpenReservationsView,
)
from scaliyo.application.credits.ports import LedgerLine
from scaliyo.application.shared.audit import actor_label, audit_entry
from scaliyo.application.shared.pagination import Page, check_limit, decode_cursor, page_of
from scaliyo.application.shared.ports import Clock, IdFactory
from scaliyo.application.shared.time import rfc3339, rfc3339_or_none
from scaliyo.domain.credits.ledger import EntryKind, operation_id
from scaliyo.domain.shared.errors import FieldError, ValidationFailed

MAX_GRANT = 10_000_000
REASON_MAX_LENGTH = 500


class GetCreditsHandler:
    """The workspace's credits: available, held, this period's grant and spend, and the ledger.

    Rules: any member reads it (``billing.read``); available = allowance + purchased − held by
    open reservations; the ledger is newest first, ``limit`` 1–200 with an opaque cursor.
    """

    async def __call__(
        self, message: GetCredits, uow: BillingUnitOfWork, context: Context
    ) -> CreditsView:
        require_billing_read(context)
        limit = check_limit(message.limit)
        before = decode_cursor(message.cursor)
        balance = await uow.credit_ledger.balance()
        count, held = await uow.credit_ledger.open_reservations()
        lines = await uow.credit_ledger.lines(limit=limit + 1, before=before)
        page = page_of(lines, limit, lambda line: line.id)
        return CreditsView(
            available=0 if balance is None else balance.available,
            allowance=0 if balance is None else balance.allowance,
            purchased=0 if balance is None else balance.purchased,
            reserved=0 if balance is None else balance.reserved,
            open_reservations=OpenReservationsView(count=count, credits=held),
            period=CreditPeriodView(
                granted=0 if balance is None else balance.period_granted,
                spent=0 if balance is None else balance.period_spent,
                start=None if balance is None else rfc3339_or_none(balance.period_start),
                end=None if balance is None else rfc3339_or_none(balance.period_end),
            ),
            ledger=Page(
                items=[_line_view(line) for line in page.items], next_cursor=page.next_cursor
            ),
        )


def _line_view(line: LedgerLine) -> LedgerLineView:
    return LedgerLineView(
        id=str(line.id),
        at=rfc3339(line.at),
        kind=line.kind.value,
        amount=line.amount,
        operation_id=line.operation_id,
        operation=line.operation,
        reservation_id=None if line.reservation_id is None else str(line.reservation_id),
        tokens=line.tokens,
        reason=line.reason,
    )


class GrantCreditsHandler:
    """Operators grant credits to a workspace.

    Rules:
    - operators only; 1 to 10,000,000 credits; a reason of 1–500 characters is required;
    - the credits are kept like purchased ones (they do not expire with the period);
    - once per operation id (one is made up when none is given): granting again with the same
      id adds nothing and is not audited again;
    - audited as ``credits.granted`` with the amount and the reason.
    """

    def __init__(self, clock: Clock, ids: IdFactory) -> None:
        self._clock = clock
        self._ids = ids

    async def __call__(
        self, message: GrantCredits, uow: BillingUnitOfWork, context: Context
    ) -> CreditGrantResult:
        require_operator(context)
        assert context.workspace_id is not None
        if not 1 <= message.amount <= MAX_GRANT:
            raise ValidationFailed(
                f"Grant between 1 and {MAX_GRANT:,} credits.",
                errors=[FieldError("amount", "out_of_range", f"Between 1 and {MAX_GRANT:,}.")],
            )
        reason = " ".join(message.reason.split())
        if not 0 < len(reason) <= REASON_MAX_LENGTH:
            raise ValidationFailed(
                "Say why the credits are granted (at most 500 characters).",
                errors=[FieldError("reason", "required", "1 to 500 characters.")],
            )
        key = operation_id(message.operation_id or f"operator-grant:{self._ids.new()}")
        now = self._clock.now()
        await uow.credit_ledger.open_account()
        granted = await uow.credit_ledger.add_kept(
            kind=EntryKind.MANUAL_GRANT,
            amount=message.amount,
            operation_id=key,
            now=now,
            reason=reason,
            actor=actor_label(context.actor),
        )
        if granted:
            await uow.audit.record(
                audit_entry(
                    context,
                    "credits.granted",
                    workspace_id=context.workspace_id,
                    target=f"workspace:{context.workspace_id}",
                    details={"amount": message.amount, "reason": reason, "operation_id": key},
                )
            )
        balance = await uow.credit_ledger.balance()
        await uow.commit()
        return CreditGrantResult(
            granted=granted, operation_id=key, available=0 if balance is None else balance.available
        )


def credit_handlers(*, clock: Clock, ids: IdFactory) -> Mapping[type[Message], Handler]:
    return {GetCredits: GetCreditsHandler(), GrantCredits: GrantCreditsHandler(clock, ids)}
