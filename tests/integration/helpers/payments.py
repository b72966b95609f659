"""Payments set-up for integration tests: Stripe prices on the fake and on our plans, settings
that point the app at the fake, an app with a clock the test moves, and webhook delivery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import msgspec
from dishka import Provider, Scope, provide
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.settings import Secret, Settings
from scaliyo.application.shared.ports import Clock
from scaliyo.domain.billing.plans import STANDARD_PLANS, annual_price_cents
from scaliyo.domain.shared.ids import WorkspaceId
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.factories import SessionCredentials, insert_account, insert_signed_in_session
from tests.fakes.stripe_server import FakeStripe
from tests.integration.helpers.billing import billing_bus, new_workspace

WEBHOOK = "/api/v1/webhooks/stripe"


def price_id(plan: str, interval: str) -> str:
    return f"price_fake_{plan}_{interval}"


def add_prices(fake: FakeStripe) -> None:
    for plan in STANDARD_PLANS:
        fake.add_price(
            price_id(plan.code, "month"),
            unit_amount=plan.monthly_price_cents,
            interval="month",
            product=f"prod_fake_{plan.code}",
        )
        fake.add_price(
            price_id(plan.code, "year"),
            unit_amount=annual_price_cents(plan.monthly_price_cents),
            interval="year",
            product=f"prod_fake_{plan.code}",
        )


@asynccontextmanager
async def plans_priced(owner_engine: AsyncEngine) -> AsyncIterator[None]:
    """Our standard plans carry the fake's price ids (as an admin would set Stripe's), and are
    put back as seeded afterwards (other tests compare them with the catalogue)."""
    async with owner_engine.begin() as conn:
        for plan in STANDARD_PLANS:
            await conn.execute(
                text(
                    "UPDATE plans SET stripe_price_monthly = :m, stripe_price_annual = :y "
                    "WHERE code = :code"
                ),
                {
                    "m": price_id(plan.code, "month"),
                    "y": price_id(plan.code, "year"),
                    "code": plan.code,
                },
            )
    try:
        yield
    finally:
        async with owner_engine.begin() as conn:
            await conn.execute(
                text("UPDATE plans SET stripe_price_monthly = NULL, stripe_price_annual = NULL")
            )


def stripe_settings(settings: Settings, fake: FakeStripe, **changes) -> Settings:
    values = {
        "stripe_api_key": Secret(fake.api_key),
        "stripe_webhook_secret": Secret(fake.webhook_secret),
        "stripe_api_base": fake.base_url,
        "billing_return_url": "https://app.scaliyo.test/billing",
        **changes,
    }
    return msgspec.structs.replace(settings, **values)


class MovableClock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


class ClockProvider(Provider):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self._clock = clock

    @provide(scope=Scope.APP)
    def clock(self) -> Clock:
        return self._clock


def payments_app(settings: Settings, clock: Clock | None = None, **kwargs) -> Litestar:
    extra = [ClockProvider(clock)] if clock is not None else []
    return create_app(SettingsProvider(settings), *extra, **kwargs)


async def trialing_owner(
    database: Database, owner_engine: AsyncEngine, name: str = "Paying Co", role: str = "owner"
) -> tuple[WorkspaceId, SessionCredentials]:
    """A member (``role``) of a new workspace in its trial — made through the bus, as sign-up
    makes one — signed in with a session."""
    workspace_id = await new_workspace(billing_bus(database), name)
    account = await insert_account(owner_engine, workspace_id=workspace_id, role=role)
    session = await insert_signed_in_session(owner_engine, account.user_id, workspace_id)
    return workspace_id, session


async def deliver(client: AsyncTestClient, fake: FakeStripe, event: dict, **signing):
    body, headers = fake.signed(event, **signing)
    return await client.post(WEBHOOK, content=body, headers=headers)
