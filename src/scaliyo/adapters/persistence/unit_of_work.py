"""The unit of work: one transaction as ``scaliyo_app``, scoped to one workspace (or none).

The tenant is set per transaction with ``set_config('app.workspace_id', …, true)``, so it can
never leak to the next user of a pooled connection. With no tenant set, row-level security shows
no tenant row. Events recorded during the work are written to the outbox at commit, in the same
transaction. Leaving without ``commit`` rolls back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from scaliyo.adapters.persistence.api_key_repository import SqlApiKeyRepository
from scaliyo.adapters.persistence.audit_repository import SqlAuditTrail
from scaliyo.adapters.persistence.auth_token_repository import SqlAuthTokenRepository
from scaliyo.adapters.persistence.credit_ledger import SqlCreditLedger
from scaliyo.adapters.persistence.invite_repository import SqlInviteRepository
from scaliyo.adapters.persistence.job_repository import SqlJobRepository
from scaliyo.adapters.persistence.lead_import_repository import SqlLeadImports
from scaliyo.adapters.persistence.lead_repository import SqlLeadRepository
from scaliyo.adapters.persistence.lead_settings_repository import (
    SqlCustomFieldRepository,
    SqlIcpRepository,
    SqlPipelineRepository,
)
from scaliyo.adapters.persistence.membership_repository import SqlMembershipRepository
from scaliyo.adapters.persistence.onboarding_repository import SqlOnboardingRepository
from scaliyo.adapters.persistence.outbox_writer import event_row, write_outbox
from scaliyo.adapters.persistence.payment_accounts import (
    SqlPaymentAccounts,
    SqlPaymentEventLog,
    SqlPlanPrices,
)
from scaliyo.adapters.persistence.plan_repository import SqlPlanRepository
from scaliyo.adapters.persistence.segment_repository import SqlSegmentRepository
from scaliyo.adapters.persistence.session_repository import SqlSessionRepository
from scaliyo.adapters.persistence.subscription_repository import SqlSubscriptionRepository
from scaliyo.adapters.persistence.usage_counters import SqlUsageLimits
from scaliyo.adapters.persistence.user_repository import SqlUserRepository
from scaliyo.adapters.persistence.workspace_repository import SqlWorkspaceRepository
from scaliyo.domain.shared.events import Event
from scaliyo.domain.shared.ids import WorkspaceId

SET_TENANT = text("SELECT set_config('app.workspace_id', :workspace_id, true)")


async def set_tenant(connection: AsyncConnection, workspace_id: UUID | None) -> None:
    await connection.execute(
        SET_TENANT, {"workspace_id": "" if workspace_id is None else str(workspace_id)}
    )


class TenantAlreadySet(RuntimeError):
    """A transaction's tenant is set once; switching it would mix two workspaces' rows."""


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine, workspace_id: WorkspaceId | None) -> None:
        self._engine = engine
        self.workspace_id = workspace_id
        self._events: list[Event] = []
        self._committed = False
        self.connection: AsyncConnection

    async def __aenter__(self) -> SqlUnitOfWork:
        self.connection = await self._engine.connect()
        try:
            await self.connection.begin()
            if self.workspace_id is not None:
                await set_tenant(self.connection, self.workspace_id)
        except BaseException:
            await self.connection.close()
            raise
        self.workspaces = SqlWorkspaceRepository(self.connection)
        self.jobs = SqlJobRepository(self.connection)
        self.audit = SqlAuditTrail(self.connection)
        self.memberships = SqlMembershipRepository(self.connection)
        self.invites = SqlInviteRepository(self.connection)
        self.api_keys = SqlApiKeyRepository(self.connection)
        self.onboarding = SqlOnboardingRepository(self.connection)
        self.users = SqlUserRepository(self.connection)
        self.sessions = SqlSessionRepository(self.connection)
        self.auth_tokens = SqlAuthTokenRepository(self.connection)
        self.plans = SqlPlanRepository(self.connection)
        self.subscriptions = SqlSubscriptionRepository(self.connection)
        self.credit_ledger = SqlCreditLedger(self.connection)
        self.limits = SqlUsageLimits(self.connection)
        # leads: the repositories read the workspace when they run (scope_to may set it later)
        tenant = self._tenant
        self.leads = SqlLeadRepository(self.connection, tenant)
        self.pipeline = SqlPipelineRepository(self.connection, tenant)
        self.icp = SqlIcpRepository(self.connection, tenant)
        self.custom_fields = SqlCustomFieldRepository(self.connection, tenant)
        self.segments = SqlSegmentRepository(self.connection, tenant)
        self.lead_imports = SqlLeadImports(self.connection, tenant)
        self.payment_accounts = SqlPaymentAccounts(self.connection)
        self.payment_events = SqlPaymentEventLog(self.connection)
        self.plan_prices = SqlPlanPrices(self.connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.connection.in_transaction():
                await self.connection.rollback()
        finally:
            await self.connection.close()

    def _tenant(self) -> WorkspaceId | None:
        return self.workspace_id

    async def scope_to(self, workspace_id: WorkspaceId) -> None:
        if self.workspace_id is not None and self.workspace_id != workspace_id:
            raise TenantAlreadySet(str(self.workspace_id))
        self.workspace_id = workspace_id
        await set_tenant(self.connection, workspace_id)

    def record(self, *events: Event) -> None:
        self._events.extend(events)

    async def commit(self) -> None:
        events, self._events = self._events, []
        await write_outbox(self.connection, [event_row(event) for event in events])
        await self.connection.commit()
        self._committed = True


def unit_of_work_factory(engine: AsyncEngine):
    """The bus's factory: ``factory(workspace_id)`` is an async context manager."""

    @asynccontextmanager
    async def factory(workspace_id: WorkspaceId | None) -> AsyncIterator[SqlUnitOfWork]:
        async with SqlUnitOfWork(engine, workspace_id) as uow:
            yield uow

    return factory
