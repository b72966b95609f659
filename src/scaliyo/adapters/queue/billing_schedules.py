"""Scheduled billing work: trial ends, period grants, reservation expiry, counter purge.

Finding due work across workspaces is a named platform path (``scaliyo_system``); each item is
then handled in its own tenant transaction as ``scaliyo_app``, through the same handlers and
conditional statements as everything else, so a tick that runs twice, late, or alongside
another does no harm. One workspace's failure is logged and the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import text

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.persistence.credit_ledger import SqlCreditLedger
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork, set_tenant
from scaliyo.application.billing.commands import EndTrial, GrantPeriodCredits
from scaliyo.application.billing.handlers import EndTrialHandler, GrantPeriodCreditsHandler
from scaliyo.application.bus import SYSTEM, Context
from scaliyo.application.shared.ports import Clock
from scaliyo.domain.shared.ids import WorkspaceId

log = logging.getLogger("scaliyo.billing.schedules")

BATCH = 500
# Day and month counters are kept this long for history, then purged.
COUNTER_RETENTION = timedelta(days=400)

_DUE_TRIALS = text(
    "SELECT workspace_id FROM subscriptions "
    "WHERE status = 'trialing' AND trial_end <= :now ORDER BY trial_end LIMIT :limit"
)
# Credit periods the scheduler grants: trials, annual plans' months, operator-run periods (a
# Stripe monthly plan's period is granted by its paid invoice).
_DUE_GRANTS = text(
    """
    SELECT s.workspace_id
    FROM subscriptions s LEFT JOIN credit_balances b ON b.workspace_id = s.workspace_id
    WHERE s.status IN ('trialing', 'active', 'past_due')
      AND NOT (s.source = 'stripe' AND s.interval = 'month')
      AND NOT (s.status = 'trialing' AND s.trial_end <= :now)
      AND (b.workspace_id IS NULL OR b.period_start IS NULL OR b.period_end IS NULL
           OR b.period_end <= :now
           OR (s.source = 'operator' AND s.current_period_end <= :now))
    ORDER BY s.workspace_id
    LIMIT :limit
    """
)
_DUE_RESERVATIONS = text(
    "SELECT workspace_id, id FROM credit_reservations "
    "WHERE status = 'open' AND expires_at <= :now ORDER BY expires_at LIMIT :limit"
)
_PURGE_COUNTERS = text(
    "DELETE FROM usage_counters WHERE period <> 'total' AND updated_at < :cutoff"
)


async def _due(database: Database, statement: Any, clock: Clock) -> list[Any]:
    async with database.system.connect() as connection:
        return list(
            (await connection.execute(statement, {"now": clock.now(), "limit": BATCH})).all()
        )


async def _each_workspace(
    database: Database,
    workspace_ids: list[UUID],
    run: Callable[[SqlUnitOfWork, Context], Awaitable[Any]],
    what: str,
) -> int:
    done = 0
    for workspace_id in workspace_ids:
        context = Context(
            request_id=f"schedule-{new_id()}",
            actor=SYSTEM,
            workspace_id=WorkspaceId(workspace_id),
        )
        try:
            async with SqlUnitOfWork(database.app, WorkspaceId(workspace_id)) as uow:
                if await run(uow, context):
                    done += 1
        except Exception:
            log.exception(f"{what} failed", extra={"workspace_id": str(workspace_id)})
    return done


async def end_due_trials(database: Database, clock: Clock) -> int:
    """End every trial that has run out unpaid; how many ended."""
    handler = EndTrialHandler(clock)
    rows = await _due(database, _DUE_TRIALS, clock)
    ended = await _each_workspace(
        database,
        [row.workspace_id for row in rows],
        lambda uow, context: handler(EndTrial(), uow, context),
        "trial end",
    )
    if ended:
        log.info("trials ended", extra={"count": ended})
    return ended


async def grant_due_periods(database: Database, clock: Clock) -> int:
    """Grant every credit period the scheduler owes; how many were granted."""
    handler = GrantPeriodCreditsHandler(clock)
    rows = await _due(database, _DUE_GRANTS, clock)

    async def run(uow: SqlUnitOfWork, context: Context) -> bool:
        return await handler(GrantPeriodCredits(), uow, context) is not None

    granted = await _each_workspace(
        database, [row.workspace_id for row in rows], run, "period grant"
    )
    if granted:
        log.info("credit periods granted", extra={"count": granted})
    return granted


async def expire_reservations(database: Database, clock: Clock) -> int:
    """Release open reservations past their expiry (their worker crashed); how many."""
    rows = await _due(database, _DUE_RESERVATIONS, clock)
    expired = 0
    for row in rows:
        try:
            async with database.app.begin() as connection:
                await set_tenant(connection, row.workspace_id)
                if await SqlCreditLedger(connection).expire(row.id, now=clock.now()):
                    expired += 1
        except Exception:
            log.exception("reservation expiry failed", extra={"reservation_id": str(row.id)})
    if expired:
        log.warning("expired credit reservations released", extra={"count": expired})
    return expired


async def purge_usage_counters(database: Database, clock: Clock) -> int:
    """Delete day and month counters untouched for ``COUNTER_RETENTION``."""
    async with database.system.begin() as connection:
        result = await connection.execute(
            _PURGE_COUNTERS, {"cutoff": clock.now() - COUNTER_RETENTION}
        )
    return result.rowcount or 0
