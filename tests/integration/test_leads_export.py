"""``GET /leads/export``: CSV with a BOM, every selected lead once across chunks, and cells
that cannot run as spreadsheet formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from uuid import UUID

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from scaliyo.application.bus import Bus
from scaliyo.application.leads.commands import CreateLead, ExportLeads, NewLead
from scaliyo.application.leads.filters import LeadFilterInput
from scaliyo.domain.leads.export import EXPORT_COLUMNS, unescape_cell
from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http.app import create_app
from tests.integration.helpers.identity import as_user
from tests.integration.helpers.leads import leads_bus, leads_workspace


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(SettingsProvider(settings))) as client:
        yield client


async def test_cells_are_escaped_against_formula_injection(client, database, owner_engine):
    _, headers, _ = await leads_workspace(database, owner_engine, "Export")
    await client.put(
        "/api/v1/settings/custom-fields",
        json={"fields": [{"key": "note", "label": "Note", "type": "text"}]},
        headers=headers,
    )
    dangerous = {
        "first_name": '=HYPERLINK("http://evil.example","x")',
        "last_name": "+1+2",
        "company": "-2+3",
        "title": "@SUM(A1)",
        "city": "'quoted",
    }
    await client.post(
        "/api/v1/leads",
        json={
            "email": "mal@evil.example.com",
            **dangerous,
            "custom_fields": {"note": "=cmd|' /C calc'!A0"},
            "tags": ["=tag"],
        },
        headers=headers,
    )
    await client.post("/api/v1/leads", json={"email": "plain@ok.example.com"}, headers=headers)

    response = await client.get("/api/v1/leads/export", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [*EXPORT_COLUMNS, "note"]
    assert len(rows) == 3
    record = dict(zip(rows[0], rows[1], strict=True))
    for field, value in dangerous.items():
        assert record[field] == "'" + value
        assert unescape_cell(record[field]) == value
    assert record["note"] == "'=cmd|' /C calc'!A0"
    assert record["tags"] == "'=tag"
    assert record["status"] == "New"
    assert record["score"].isdigit()
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))

    filtered = await client.get("/api/v1/leads/export", params={"q": "plain"}, headers=headers)
    assert len(list(csv.reader(io.StringIO(filtered.content.decode("utf-8-sig"))))) == 2


async def test_an_export_of_many_chunks_holds_every_lead_once(database, owner_engine):
    workspace_id, _, owner = await leads_workspace(database, owner_engine, "Export chunks")
    bus: Bus = leads_bus(database, bulk_inline_max=1000)
    context = as_user(owner, workspace_id, "member")
    for index in range(7):
        await bus.execute(CreateLead(lead=NewLead(email=f"e{index}@chunks.example.com")), context)
    query = ExportLeads(filter=LeadFilterInput(), limit=3)
    text, after = "", None
    chunks = 0
    while True:
        chunk = await bus.execute(msgspec.structs.replace(query, after=after), context)
        text += chunk.text
        chunks += 1
        after = chunk.after
        if after is None:
            break
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert chunks == 3
    assert rows[0][0] == "id"
    ids = [UUID(row[0]) for row in rows[1:]]
    assert len(ids) == len(set(ids)) == 7
    assert ids == sorted(ids)
