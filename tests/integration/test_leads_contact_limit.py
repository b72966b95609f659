"""The contact limit holds for leads under concurrency: 20 creates racing for 5 free contacts
make exactly 5 leads."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.application.leads.commands import CreateLead, NewLead
from scaliyo.application.leads.errors import ContactLimitReached
from scaliyo.domain.usage.counters import Metric
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.integration.helpers.identity import as_user
from tests.integration.helpers.leads import count_rows, leads_bus, leads_workspace

STARTER_CONTACTS = 1000


@pytest.fixture
async def wide_database(settings):
    """A pool wide enough for 20 transactions at once."""
    database = Database.connect(msgspec.structs.replace(settings, db_pool_size=20))
    yield database
    await database.dispose()


async def test_twenty_concurrent_creates_never_pass_the_limit(
    settings, wide_database, owner_engine
):
    workspace_id, headers, owner = await leads_workspace(wide_database, owner_engine, "Limit")
    async with SqlUnitOfWork(wide_database.app, workspace_id) as uow:
        await uow.limits.set_used(Metric.CONTACTS, STARTER_CONTACTS - 5, at=datetime.now(UTC))
        await uow.commit()
    bus = leads_bus(wide_database, bulk_inline_max=1000)
    context = as_user(owner, workspace_id, "owner")

    async def create(index: int):
        lead = NewLead(email=f"race{index}@limit.example.com")
        return await bus.execute(CreateLead(lead=lead), context)

    outcomes = await asyncio.gather(*(create(i) for i in range(20)), return_exceptions=True)
    made = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, ContactLimitReached)]
    assert (len(made), len(refused)) == (5, 15), [o for o in outcomes if o not in made]
    assert (
        await count_rows(
            owner_engine, "SELECT count(*) FROM leads WHERE workspace_id = :ws", ws=workspace_id
        )
        == 5
    )
    assert (
        await count_rows(
            owner_engine,
            "SELECT used FROM usage_counters WHERE workspace_id = :ws AND metric = 'contacts'",
            ws=workspace_id,
        )
        == STARTER_CONTACTS
    )

    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        one_more = await client.post(
            "/api/v1/leads", json={"email": "one.more@limit.example.com"}, headers=headers
        )
        assert one_more.status_code == 409
        assert one_more.json()["code"] == "contact_limit_reached"
        victim = made[0].id
        assert (await client.delete(f"/api/v1/leads/{victim}", headers=headers)).status_code == 204
        now_fits = await client.post(
            "/api/v1/leads", json={"email": "one.more@limit.example.com"}, headers=headers
        )
        assert now_fits.status_code == 201
        no_room = await client.post(f"/api/v1/leads/{victim}/restore", headers=headers)
        assert no_room.status_code == 409
        assert no_room.json()["code"] == "contact_limit_reached"
