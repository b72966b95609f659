"""A lead's search-term rows are the ones its ``search_terms`` column lists, whoever writes it
and however writers of the same lead interleave."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec
from sqlalchemy import text

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork
from scaliyo.application.leads.derived import search_terms
from scaliyo.domain.leads.attributes import LeadSource
from scaliyo.domain.leads.lead import Lead, LeadId
from scaliyo.domain.leads.profile import LeadProfile
from tests.integration.helpers.leads import leads_workspace


def _renamed(lead: Lead, first: str, last: str) -> Lead:
    profile = msgspec.structs.replace(lead.profile, first_name=first, last_name=last)
    return msgspec.structs.replace(lead, profile=profile)


async def _term_rows(owner_engine, lead_id) -> tuple[list[str], str]:
    async with owner_engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT term FROM lead_search_terms WHERE lead_id = :id ORDER BY term"),
            {"id": lead_id},
        )
        listed = await conn.scalar(
            text("SELECT search_terms FROM leads WHERE id = :id"), {"id": lead_id}
        )
        return list(rows.scalars()), listed


async def _until_a_lock_is_awaited(owner_engine) -> None:
    for _ in range(500):
        async with owner_engine.connect() as conn:
            if await conn.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the second writer never waited for the first")


async def test_a_writer_that_waited_for_another_replaces_that_ones_terms(database, owner_engine):
    workspace, _, _ = await leads_workspace(database, owner_engine, "Terms race")
    async with owner_engine.connect() as conn:
        stage = await conn.scalar(
            text("SELECT id FROM pipeline_stages WHERE workspace_id = :ws LIMIT 1"),
            {"ws": workspace},
        )
    now = datetime.now(UTC)
    lead = Lead(
        id=LeadId(new_id()),
        workspace_id=workspace,
        profile=LeadProfile(email="ada@acme.example", first_name="Ada", last_name="Lovelace"),
        source=LeadSource.MANUAL,
        status=stage,
        created_at=now,
        updated_at=now,
    )
    async with SqlUnitOfWork(database.app, workspace) as uow:
        await uow.leads.add(lead)
        await uow.commit()
    grace, mary = _renamed(lead, "Grace", "Hopper"), _renamed(lead, "Mary", "Somerville")

    async def save_later(renamed: Lead) -> None:
        async with SqlUnitOfWork(database.app, workspace) as uow:
            await uow.leads.save(renamed)
            await uow.commit()

    async with SqlUnitOfWork(database.app, workspace) as first:
        await first.leads.save(grace)  # holds the lead until it commits
        second = asyncio.create_task(save_later(mary))
        await _until_a_lock_is_awaited(owner_engine)
        await first.commit()
    await second

    rows, listed = await _term_rows(owner_engine, lead.id)
    assert rows == search_terms(mary.profile) == listed.split()
    assert "grace" not in rows and "hopper" not in rows
