"""Lead imports end to end: uploads over HTTP (multipart and raw CSV) into blob storage on
NATS, detection and preview, the ``bulk_import`` job on PostgreSQL, exact counts, the per-row
error report, re-imports, duplicate policies, and bad input."""

from __future__ import annotations

import csv
import io
import socket
from collections.abc import AsyncIterator
from uuid import UUID

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from scaliyo.entrypoints.container import SettingsProvider
from scaliyo.entrypoints.http import providers
from scaliyo.entrypoints.http.app import create_app
from scaliyo.entrypoints.http.controllers import lead_imports as lead_imports_routes
from tests.factories import insert_account, insert_signed_in_session
from tests.integration.helpers.imports import (
    APOLLO,
    csv_bytes,
    error_lines,
    lead_snapshot,
    run_import_job,
)
from tests.integration.helpers.leads import count_rows, leads_workspace


@pytest.fixture
async def client(settings) -> AsyncIterator[AsyncTestClient]:
    tight = msgspec.structs.replace(settings, import_max_bytes=64 * 1024)
    async with AsyncTestClient(app=create_app(SettingsProvider(tight))) as client:
        yield client


LONG = "x" * 10_000
MESSY_ROWS = [
    APOLLO,
    ["Ada", "Lovelace", "CTO", "Analytical", "ada@analytical.example",
     "https://www.linkedin.com/in/ada-lovelace/", "analytical.example", "London", "United Kingdom"],
    [" ADA ", "Lovelace", "CTO", "Analytical", "  Ada@Analytical.EXAMPLE ", "", "", "", ""],
    ["Grace", "Hopper", "Rear\nAdmiral", "Navy", "grace@navy.example", "", "", "Arlington",
     "US"],
    ['=HYPERLINK("http://evil.example")', "Formula", "", "", "formula@evil.example", "", "",
     "", ""],
    ["Bad", "Email", "", "", "not-an-email", "", "", "", ""],
    ["Nobody", "", "", "", "", "", "", "", ""],
    ["", "", "", "", "", "", "", "", ""],
    ["Alan", "Turing", "", "", "alan@bletchley.example",
     "https://linkedin.com/in/ada-lovelace", "", "", ""],
    ["Kate", "Bell", "VP Sales", "Existing", "kate@existing.example",
     "https://www.linkedin.com/in/kate-b", "", "", ""],
    ["Gone", "Again", "", "", "gone@deleted.example", "", "", "", ""],
    ["Long", "Title", LONG, "", "long@title.example", "", "", "", ""],
    ["Short", "Row", "", "", "short@ragged.example"],
    ["Wide", "Row", "", "", "wide@ragged.example", "", "", "", "", "extra", "cells"],
]  # fmt: skip


async def upload(client, headers, body: bytes, *, multipart: bool = True, name="leads.csv"):
    if multipart:
        return await client.post(
            "/api/v1/leads/uploads", files={"file": (name, body, "text/csv")}, headers=headers
        )
    return await client.post(
        "/api/v1/leads/uploads",
        content=body,
        headers={**headers, "Content-Type": "text/csv"},
    )


async def import_file(client, database, nc, headers, workspace_id, body, **options):
    """Upload, import, run the job here; the finished import's view."""
    uploaded = await upload(client, headers, body)
    assert uploaded.status_code == 201, uploaded.text
    started = await client.post(
        "/api/v1/leads/imports",
        json={"upload_id": uploaded.json()["upload_id"], **options},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    settlement = await run_import_job(database, nc, workspace_id, started.json()["job_id"])
    assert settlement.ack
    view = await client.get(f"/api/v1/leads/imports/{started.json()['import_id']}", headers=headers)
    assert view.status_code == 200
    return view.json()


async def prepare_existing(client, headers) -> None:
    """A live lead holding Kate's email, another holding her LinkedIn URL, a deleted one."""
    for body in (
        {"email": "kate@existing.example", "first_name": "Kate"},
        {"linkedin_url": "https://www.linkedin.com/in/kate-b/", "first_name": "K"},
        {"email": "gone@deleted.example"},
    ):
        made = await client.post("/api/v1/leads", json=body, headers=headers)
        assert made.status_code == 201, made.text
    gone = made.json()["id"]
    assert (await client.delete(f"/api/v1/leads/{gone}", headers=headers)).status_code == 204


async def test_a_messy_file_imports_with_exact_counts_and_row_numbered_errors(
    client, database, owner_engine, nc
):
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Import messy")
    await prepare_existing(client, headers)
    body = b"\xef\xbb\xbf" + csv_bytes(MESSY_ROWS)

    uploaded = await upload(client, headers, body)
    assert uploaded.status_code == 201, uploaded.text
    preview = uploaded.json()
    assert preview["encoding"] in {"utf-8-sig", "utf-8"}
    assert preview["delimiter"] == ","
    # a row wider than the header shows as more (unnamed, unmapped) columns
    assert preview["header"] == [*APOLLO, "column_10", "column_11"]
    fields = {entry["column"]: entry["field"] for entry in preview["mapping"]}
    assert fields["Email"] == "email"
    assert fields["Person Linkedin Url"] == "linkedin_url"
    assert fields["First Name"] == "first_name"
    assert all(0 <= entry["confidence"] <= 1 for entry in preview["mapping"])
    assert preview["rows"][0] == {
        "row": 2,
        "lead": preview["rows"][0]["lead"] | {"email": "ada@analytical.example"},
    }
    assert preview["rows"][0]["lead"]["linkedin_url"] == "https://www.linkedin.com/in/ada-lovelace"
    assert {(p["row"], p["code"]) for p in preview["problems"]} >= {
        (6, "invalid_email"),
        (7, "no_identity"),
        (12, "too_long"),
    }
    assert preview["row_estimate"] == 12

    started = await client.post(
        "/api/v1/leads/imports",
        json={"upload_id": preview["upload_id"], "duplicate_policy": "skip", "tags": ["Webinar"]},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    import_id = started.json()["import_id"]
    assert (await run_import_job(database, nc, workspace_id, started.json()["job_id"])).ack

    view = (await client.get(f"/api/v1/leads/imports/{import_id}", headers=headers)).json()
    assert view["status"] == "completed"
    assert view["progress"] == {"processed": 12, "total": 12}
    assert view["counts"] == {
        "created": 6,  # Ada, Grace, the formula, the restored lead, the two ragged rows
        "updated": 0,
        "duplicates": 3,  # row 3 (case and spaces), row 9 (Ada's LinkedIn), row 10 (exists)
        "invalid": 3,  # bad email, no identity, 10,000 characters
        "limit_reached": 0,
    }
    report = await client.get(f"/api/v1/leads/imports/{import_id}/errors", headers=headers)
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    assert report.text.startswith("\ufeffrow,column,code,message")
    lines = [(int(line["row"]), line["column"], line["code"]) for line in error_lines(report.text)]
    assert lines == [
        (3, "Email", "duplicate"),
        (6, "Email", "invalid_email"),
        (6, "Email", "no_identity"),  # the email was its only identity
        (7, "Email", "no_identity"),
        (9, "Person Linkedin Url", "duplicate"),
        (10, "Email", "lead_exists"),
        (12, "Title", "too_long"),
    ]
    found = (
        await client.get("/api/v1/leads", params={"tag": "webinar", "limit": 50}, headers=headers)
    ).json()["items"]
    by_email = {lead.get("email"): lead for lead in found}
    assert set(by_email) == {
        "ada@analytical.example",
        "grace@navy.example",
        "formula@evil.example",
        "gone@deleted.example",
        "short@ragged.example",
        "wide@ragged.example",
    }
    assert by_email["grace@navy.example"]["title"] == "Rear Admiral"
    assert by_email["formula@evil.example"]["first_name"].startswith("=HYPERLINK")
    assert by_email["ada@analytical.example"]["source"] == "csv"
    searched = await client.get("/api/v1/leads", params={"q": "lovelace"}, headers=headers)
    assert [lead["email"] for lead in searched.json()["items"]] == ["ada@analytical.example"]

    # The same file again: nothing is created and nothing changes.
    before = await lead_snapshot(owner_engine, workspace_id)
    again = await import_file(client, database, nc, headers, workspace_id, body)
    assert again["counts"] == {
        "created": 0,
        "updated": 0,
        "duplicates": 9,
        "invalid": 3,
        "limit_reached": 0,
    }
    assert await lead_snapshot(owner_engine, workspace_id) == before


async def test_fill_empty_and_overwrite_update_matched_leads_but_never_take_another_leads_key(
    client, database, owner_engine, nc
):
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Import policies")
    await prepare_existing(client, headers)
    row = [
        "Katherine", "Bell", "VP Sales", "Existing Inc", "kate@existing.example",
        "https://www.linkedin.com/in/kate-b", "existing.example", "Paris", "France",
    ]  # fmt: skip
    filled = await import_file(
        client,
        database,
        nc,
        headers,
        workspace_id,
        csv_bytes([APOLLO, row]),
        duplicate_policy="fill_empty",
    )
    assert filled["counts"]["updated"] == 1
    kate = (
        await client.get("/api/v1/leads", params={"q": "kate@existing"}, headers=headers)
    ).json()["items"][0]
    assert kate["first_name"] == "Kate"  # kept: fill_empty fills only what is missing
    assert kate["title"] == "VP Sales"
    assert kate["city"] == "Paris"
    assert kate.get("linkedin_url") is None  # the other lead's key is never written

    overwritten = await import_file(
        client,
        database,
        nc,
        headers,
        workspace_id,
        csv_bytes([APOLLO, row]),
        duplicate_policy="overwrite",
    )
    assert overwritten["counts"]["updated"] == 1
    kate = (await client.get(f"/api/v1/leads/{kate['id']}", headers=headers)).json()
    assert kate["first_name"] == "Katherine"
    assert kate.get("linkedin_url") is None


async def test_an_imports_leads_are_found_exported_and_deleted_by_its_id(
    client, database, owner_engine, nc
):
    """``import_id`` filters the leads an import made (created, or restored from the trash),
    not those it found or updated; a bulk delete with it takes back a wrong import, into the
    trash; an id of no import of this workspace is 422 ``unknown_import``."""
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Import undo")
    _, other_headers, _ = await leads_workspace(database, owner_engine, "Import undo other")
    await prepare_existing(client, headers)  # Kate live, gone@deleted.example in the trash
    first = await import_file(
        client,
        database,
        nc,
        headers,
        workspace_id,
        csv_bytes([APOLLO, *(MESSY_ROWS[i] for i in (1, 4, 5, 9, 10))]),
        duplicate_policy="fill_empty",
    )
    # Ada and the formula created, gone@ restored, Kate updated, a bad email
    assert (first["counts"]["created"], first["counts"]["updated"]) == (3, 1)
    second = await import_file(
        client,
        database,
        nc,
        headers,
        workspace_id,
        csv_bytes([APOLLO, MESSY_ROWS[3], MESSY_ROWS[1]]),  # Grace new, Ada already there
    )
    assert (second["counts"]["created"], second["counts"]["duplicates"]) == (1, 1)

    async def emails(**params) -> set[str]:
        response = await client.get("/api/v1/leads", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {lead.get("email") for lead in response.json()["items"]}

    made_first = {"ada@analytical.example", "formula@evil.example", "gone@deleted.example"}
    assert await emails(import_id=first["id"]) == made_first
    listed = (await client.get("/api/v1/leads", headers=headers)).json()["items"]
    made_by = {lead.get("email"): lead.get("import_id") for lead in listed}
    assert made_by["ada@analytical.example"] == made_by["gone@deleted.example"] == first["id"]
    assert made_by["grace@navy.example"] == second["id"]
    assert made_by["kate@existing.example"] is None  # made by hand, updated by the import
    assert await emails(import_id=second["id"]) == {"grace@navy.example"}
    both = await emails(import_id=[first["id"], second["id"]])
    assert both == made_first | {"grace@navy.example"}
    exported = await client.get(
        "/api/v1/leads/export", params={"import_id": first["id"]}, headers=headers
    )
    assert exported.status_code == 200
    assert len(exported.text.strip().splitlines()) == 1 + len(made_first)

    for params, code in (
        ({"import_id": str(UUID(int=9))}, "unknown_import"),
        ({"import_id": "not-an-id"}, "invalid_import"),
    ):
        refused = await client.get("/api/v1/leads", params=params, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["code"] == code
    theirs = await client.get(
        "/api/v1/leads", params={"import_id": first["id"]}, headers=other_headers
    )
    assert theirs.status_code == 422
    assert theirs.json()["errors"][0] == {
        "field": "import_id",
        "code": "unknown_import",
        "message": "No import has this id.",
    }

    undone = await client.post(
        "/api/v1/leads/bulk",
        json={"action": "delete", "filter": {"import_id": [first["id"]]}},
        headers=headers,
    )
    assert undone.status_code == 200, undone.text
    assert undone.json()["affected"] == len(made_first)
    # Kate (updated, not made by it), the lead holding her LinkedIn URL, the second's Grace
    assert await emails() == {"kate@existing.example", None, "grace@navy.example"}
    assert await emails(deleted="true", import_id=first["id"]) == made_first
    assert await emails(import_id=first["id"]) == set()


async def test_an_import_is_cancelled_over_http(client, database, owner_engine, nc):
    """``POST /leads/imports/{id}/cancel``: 202 with the import (a queued one is cancelled at
    once, its job then reads nothing), the same again; 409 ``import_finished`` for a completed
    import; 404 for another workspace's."""
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Import stop")
    _, other_headers, _ = await leads_workspace(database, owner_engine, "Import stop other")
    body = csv_bytes([APOLLO, MESSY_ROWS[1], MESSY_ROWS[3]])
    uploaded = await upload(client, headers, body)
    started = await client.post(
        "/api/v1/leads/imports", json={"upload_id": uploaded.json()["upload_id"]}, headers=headers
    )
    import_id = started.json()["import_id"]
    path = f"/api/v1/leads/imports/{import_id}/cancel"
    theirs = await client.post(path, headers=other_headers)
    assert (theirs.status_code, theirs.json()["code"]) == (404, "import_not_found")
    for _ in range(2):
        cancelled = await client.post(path, headers=headers)
        assert cancelled.status_code == 202, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        assert cancelled.json()["cancel_requested_at"] is not None
    assert (await run_import_job(database, nc, workspace_id, started.json()["job_id"])).ack
    view = (await client.get(f"/api/v1/leads/imports/{import_id}", headers=headers)).json()
    assert (view["status"], view["counts"]["created"]) == ("cancelled", 0)
    assert (await client.get("/api/v1/leads", headers=headers)).json()["items"] == []

    done = await import_file(client, database, nc, headers, workspace_id, body)
    finished = await client.post(f"/api/v1/leads/imports/{done['id']}/cancel", headers=headers)
    assert (finished.status_code, finished.json()["code"]) == (409, "import_finished")


async def test_utf16_tabs_and_windows_1252_semicolons_are_detected_and_read(
    client, database, owner_engine, nc
):
    """Each legacy file imports with exact counts and row-numbered errors: a repeat of an
    earlier row in other case and spacing is a duplicate, a bad email invalid."""
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Import encodings")
    utf16 = csv_bytes(
        [
            ["Email", "First Name", "Last Name", "Company Name", "Job Title"],
            ["zoë@utf16.example", "Zoë", "Ångström", "Ümlaut GmbH", "Chefin"],
            ["li@utf16.example", "李", "小龍", "Dragon", "Founder"],
            ["  ZOË@UTF16.example ", "Zoë", "Ångström", "Ümlaut GmbH", ""],
            ["not an email", "Kein", "Mail", "", ""],
        ],
        encoding="utf-16",
        delimiter="\t",
    )
    uploaded = await upload(client, headers, utf16, multipart=False)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["encoding"].replace("_", "-").startswith("utf-16")
    assert uploaded.json()["delimiter"] == "\t"
    cp1252 = csv_bytes(
        [
            ["E-mail", "First name", "Last name", "Company"],
            ["jose@cp1252.example", "José", "Müller", "Café Crème"],
            ["francois@cp1252.example", "François", "Œuvre", "Señor €uro"],
            ["José@CP1252.example", " José ", "Müller", ""],  # not the same address: "é"
            [" JOSE@cp1252.EXAMPLE", "José", "Müller", "Café Crème"],
            ["", "Sans", "Identité", "Café Crème"],
        ],
        encoding="cp1252",
        delimiter=";",
    )
    legacy = await upload(client, headers, cp1252)
    assert legacy.status_code == 201, legacy.text
    assert legacy.json()["delimiter"] == ";"
    assert legacy.json()["encoding"].lower().replace("-", "").replace("_", "") in {
        "cp1252",
        "windows1252",
    }
    reports = []
    for uploaded_file in (uploaded, legacy):
        started = await client.post(
            "/api/v1/leads/imports",
            json={"upload_id": uploaded_file.json()["upload_id"]},
            headers=headers,
        )
        assert started.status_code == 202
        assert (await run_import_job(database, nc, workspace_id, started.json()["job_id"])).ack
        import_id = started.json()["import_id"]
        view = (await client.get(f"/api/v1/leads/imports/{import_id}", headers=headers)).json()
        errors = await client.get(f"/api/v1/leads/imports/{import_id}/errors", headers=headers)
        lines = [(int(e["row"]), e["column"], e["code"]) for e in error_lines(errors.text)]
        reports.append((view["counts"], lines))
    no_updates = {"updated": 0, "limit_reached": 0}
    assert reports == [
        (
            {"created": 2, "duplicates": 1, "invalid": 1, **no_updates},
            [(4, "Email", "duplicate"), (5, "Email", "invalid_email"), (5, "Email", "no_identity")],
        ),
        (
            {"created": 3, "duplicates": 1, "invalid": 1, **no_updates},
            [(5, "E-mail", "duplicate"), (6, "E-mail", "no_identity")],
        ),
    ]
    names = {
        lead["email"]: (lead["first_name"], lead.get("company"))
        for lead in (await client.get("/api/v1/leads", headers=headers)).json()["items"]
    }
    assert names == {
        "zoë@utf16.example": ("Zoë", "Ümlaut GmbH"),
        "li@utf16.example": ("李", "Dragon"),
        "jose@cp1252.example": ("José", "Café Crème"),
        "josé@cp1252.example": ("José", None),
        "francois@cp1252.example": ("François", "Señor €uro"),
    }


async def test_a_file_laid_out_like_an_earlier_import_gets_that_imports_mapping(
    client, database, owner_engine, nc
):
    """The mapping a person chose (titles ignored, cities to a custom field) is proposed
    again for the next file with the same header, naming the import it comes from; another
    header, another workspace, or a mapping that no longer holds (the custom field deleted)
    gets a proposal from the headers."""
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Import memory")
    _, other_headers, _ = await leads_workspace(database, owner_engine, "Import memory other")
    fields = "/api/v1/settings/custom-fields"
    office = {"key": "office", "label": "Office", "type": "text"}
    assert (await client.put(fields, json={"fields": [office]}, headers=headers)).is_success
    first = await upload(client, headers, csv_bytes(MESSY_ROWS[:3]))
    assert first.json()["mapping_from_import"] is None
    proposed = first.json()["mapping"]
    title, city = APOLLO.index("Title"), APOLLO.index("City")
    assert (proposed[title]["field"], proposed[city]["field"]) == ("title", "city")
    changed = {title: None, city: "custom_fields.office"}
    chosen = [{"index": c["index"], "field": changed.get(c["index"], c["field"])} for c in proposed]
    started = await client.post(
        "/api/v1/leads/imports",
        json={"upload_id": first.json()["upload_id"], "mapping": chosen},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    assert (await run_import_job(database, nc, workspace_id, started.json()["job_id"])).ack

    again = await upload(client, headers, csv_bytes([APOLLO, MESSY_ROWS[3]]))
    body = again.json()
    assert body["mapping_from_import"] == started.json()["import_id"]
    assert [(c["field"], c["confidence"]) for c in body["mapping"]] == [
        (c["field"], 1.0) for c in chosen
    ]
    assert body["rows"][0]["lead"]["email"] == "grace@navy.example"
    assert "title" not in body["rows"][0]["lead"]  # previewed as it will be imported

    # a wide row in the sample adds a made-up column; the header is still the same
    wider = await upload(client, headers, csv_bytes([APOLLO, [*MESSY_ROWS[3], "a note"]]))
    assert wider.json()["columns"][-1] == "column_10"
    assert wider.json()["mapping_from_import"] == started.json()["import_id"]
    assert wider.json()["mapping"][-1]["field"] is None
    # imported, it is the newest such import, and a file without the made-up column matches it
    started_wider = await client.post(
        "/api/v1/leads/imports", json={"upload_id": wider.json()["upload_id"]}, headers=headers
    )
    assert started_wider.status_code == 202, started_wider.text
    job_id = started_wider.json()["job_id"]
    assert (await run_import_job(database, nc, workspace_id, job_id)).ack
    plain = await upload(client, headers, csv_bytes([APOLLO, MESSY_ROWS[3]]))
    assert plain.json()["mapping_from_import"] == started_wider.json()["import_id"]
    assert [c["field"] for c in plain.json()["mapping"]] == [c["field"] for c in chosen]

    renamed = await upload(client, headers, csv_bytes([[*APOLLO[:-1], "Land"], MESSY_ROWS[3]]))
    theirs = await upload(client, other_headers, csv_bytes([APOLLO, MESSY_ROWS[3]]))
    for fresh in (renamed, theirs):
        assert fresh.status_code == 201, fresh.text
        assert fresh.json()["mapping_from_import"] is None
    assert theirs.json()["mapping"][title]["field"] == "title"

    headless = [["ann@headless.example", "Ann"], ["bob@headless.example", "Bob"]]
    await import_file(client, database, nc, headers, workspace_id, csv_bytes(headless))
    like_it = await upload(client, headers, csv_bytes([["cat@headless.example", "Cat"]]))
    assert like_it.json()["header"] is None
    assert like_it.json()["mapping_from_import"] is None  # made-up names say nothing

    assert (await client.put(fields, json={"fields": []}, headers=headers)).is_success
    gone = await upload(client, headers, csv_bytes([APOLLO, MESSY_ROWS[3]]))
    assert gone.json()["mapping_from_import"] is None
    assert gone.json()["mapping"][city]["field"] == "city"


async def test_the_rejected_rows_come_back_as_the_file_has_them_to_fix_and_import_again(
    client, database, owner_engine, nc, monkeypatch
):
    """``/rejected``: the rows to fix (not duplicates), with why and their cells as the file
    has them, formulas defused; 410 once the file is deleted, while ``/errors`` stays. The
    report is read a line a page here, so both walk several pages."""
    monkeypatch.setattr(lead_imports_routes, "ERRORS_PAGE", 1)
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Import rejected")
    _, other_headers, _ = await leads_workspace(database, owner_engine, "Import rejected other")
    rows = [
        APOLLO,
        ["Ada", "Lovelace", "CTO", "Analytical", "ada@analytical.example", "", "", "", ""],
        ["Bad", "Email", "", "", "not-an-email", "", "", "", ""],
        [" ADA ", "Lovelace", "", "", "ADA@analytical.example", "", "", "", ""],
        ['=HYPERLINK("x")', "Nobody", "", "", "", "", "", "Paris", "France"],
        ["Grace", "Hopper", "", "", "grace@navy.example", "", "", "", ""],
    ]
    view = await import_file(client, database, nc, headers, workspace_id, csv_bytes(rows))
    assert (view["counts"]["created"], view["counts"]["duplicates"]) == (2, 1)
    path = f"/api/v1/leads/imports/{view['id']}/rejected"

    rejected = await client.get(path, headers=headers)
    assert rejected.status_code == 200, rejected.text
    assert rejected.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(rejected.text.lstrip("\ufeff"))))
    assert table[0] == ["Row", "Errors", *APOLLO]
    assert [line[0] for line in table[1:]] == ["3", "5"]
    assert table[1][2:] == rows[2]
    assert "Email: " in table[1][1] and "(invalid_email)" in table[1][1]
    assert table[2][2] == '\'=HYPERLINK("x")'  # a formula, defused
    assert table[2][3:] == rows[4][1:]
    assert "(no_identity)" in table[2][1]

    theirs = await client.get(path, headers=other_headers)
    assert (theirs.status_code, theirs.json()["code"]) == (404, "import_not_found")
    # the file's cells include columns the import left out: those who import see them
    viewer = await insert_account(owner_engine, workspace_id=workspace_id, role="viewer")
    session = await insert_signed_in_session(owner_engine, viewer.user_id, workspace_id)
    looking = await client.get(path, headers=session.headers(csrf=False))
    assert looking.status_code == 403
    upload_id = (await client.get(f"/api/v1/leads/imports/{view['id']}", headers=headers)).json()[
        "upload_id"
    ]
    deleted = await client.delete(f"/api/v1/leads/uploads/{upload_id}", headers=headers)
    assert deleted.status_code == 204
    gone = await client.get(path, headers=headers)
    assert (gone.status_code, gone.json()["code"]) == (410, "upload_expired")
    errors = await client.get(f"/api/v1/leads/imports/{view['id']}/errors", headers=headers)
    assert [line["row"] for line in error_lines(errors.text)] == ["3", "3", "4", "5"]


async def test_bad_files_and_bad_requests_are_problems_never_500(
    client, database, owner_engine, nc
):
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Import bad")
    other_ws, other_headers, _ = await leads_workspace(database, owner_engine, "Import other")

    async def code_of(response) -> tuple[int, str]:
        return response.status_code, response.json().get("code")

    assert await code_of(await upload(client, headers, b"")) == (422, "empty_file")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    assert await code_of(await upload(client, headers, png)) == (422, "binary_file")
    header_only = csv_bytes([APOLLO])
    assert await code_of(await upload(client, headers, header_only)) == (422, "no_data_rows")
    big = csv_bytes([["email"], *([f"user{i}@big.example"] for i in range(5000))])
    assert len(big) > 64 * 1024
    assert await code_of(await upload(client, headers, big, multipart=False)) == (
        413,
        "file_too_large",
    )
    assert await code_of(await upload(client, headers, big)) == (413, "file_too_large")
    wrong_type = await client.post(
        "/api/v1/leads/uploads",
        content=b"{}",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert await code_of(wrong_type) == (422, "file_required")
    no_file = await client.post(
        "/api/v1/leads/uploads", files={"other": ("x.csv", b"a,b\n", "text/csv")}, headers=headers
    )
    assert await code_of(no_file) == (422, "file_required")

    good = await upload(client, headers, csv_bytes(MESSY_ROWS[:3]))
    upload_id = good.json()["upload_id"]
    bad_mapping = await client.post(
        "/api/v1/leads/imports",
        json={
            "upload_id": upload_id,
            "mapping": [
                {"index": 42, "field": "email"},
                {"index": 0, "column": "Nope", "field": "first_name"},
                {"index": 1, "field": "favourite_colour"},
            ],
        },
        headers=headers,
    )
    assert bad_mapping.status_code == 422, bad_mapping.text
    paths = {(e["field"], e["code"]) for e in bad_mapping.json()["errors"]}
    assert ("mapping[0].index", "unknown_column") in paths
    assert ("mapping[1].column", "unknown_column") in paths
    assert ("mapping[2].field", "unknown_field") in paths
    unknown_policy = await client.post(
        "/api/v1/leads/imports",
        json={"upload_id": upload_id, "duplicate_policy": "merge"},
        headers=headers,
    )
    assert unknown_policy.status_code == 422
    # another workspace's upload and import are not found
    theirs = await client.post(
        "/api/v1/leads/imports", json={"upload_id": upload_id}, headers=other_headers
    )
    assert await code_of(theirs) == (404, "upload_not_found")
    mine = await client.post(
        "/api/v1/leads/imports", json={"upload_id": upload_id}, headers=headers
    )
    import_id = mine.json()["import_id"]
    for path in (f"/api/v1/leads/imports/{import_id}", f"/api/v1/leads/imports/{import_id}/errors"):
        assert await code_of(await client.get(path, headers=other_headers)) == (
            404,
            "import_not_found",
        )
    assert await code_of(await client.get("/api/v1/leads/imports/not-an-id", headers=headers)) == (
        404,
        "import_not_found",
    )
    assert await code_of(
        await client.post("/api/v1/leads/imports", json={"upload_id": "x"}, headers=headers)
    ) == (404, "upload_not_found")
    assert str(UUID(import_id))
    assert other_ws != workspace_id


async def test_a_workspaces_imports_are_listed_newest_first_with_their_file_names(
    client, database, owner_engine, nc
):
    """An import history: every import as ``GET /leads/imports/{id}`` shows it, newest first,
    in pages; another workspace's imports are not there."""
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Import history")
    _, other_headers, _ = await leads_workspace(database, owner_engine, "Import elsewhere")
    shown = []
    for index, name in enumerate(("january.csv", "february.csv", None)):
        body = csv_bytes([["email"], [f"p{index}@history.example"]])
        uploaded = await upload(client, headers, body, multipart=name is not None, name=name)
        started = await client.post(
            "/api/v1/leads/imports",
            json={"upload_id": uploaded.json()["upload_id"]},
            headers=headers,
        )
        if index < 2:  # the last stays queued
            assert (await run_import_job(database, nc, workspace_id, started.json()["job_id"])).ack
        view = await client.get(
            f"/api/v1/leads/imports/{started.json()['import_id']}", headers=headers
        )
        shown.append(view.json())
    elsewhere = await upload(client, other_headers, csv_bytes([["email"], ["x@else.example"]]))
    assert (
        await client.post(
            "/api/v1/leads/imports",
            json={"upload_id": elsewhere.json()["upload_id"]},
            headers=other_headers,
        )
    ).status_code == 202
    assert [view.get("filename") for view in shown] == ["january.csv", "february.csv", None]
    assert [view["status"] for view in shown] == ["completed", "completed", "queued"]

    listed = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await client.get("/api/v1/leads/imports", params=params, headers=headers)
        assert page.status_code == 200, page.text
        listed.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert listed == shown[::-1]

    for params in ({"limit": 0}, {"limit": 201}, {"cursor": "%%"}):
        bad = await client.get("/api/v1/leads/imports", params=params, headers=headers)
        assert (bad.status_code, bad.json()["code"]) == (422, "validation_failed"), params
    bad_cursor = await client.get("/api/v1/leads/imports", params={"cursor": "%%"}, headers=headers)
    assert [e["code"] for e in bad_cursor.json()["errors"]] == ["invalid_cursor"]
    other = await client.get("/api/v1/leads/imports", headers=other_headers)
    assert [view["upload_id"] for view in other.json()["items"]] == [elsewhere.json()["upload_id"]]


async def test_an_upload_while_file_storage_is_down_is_503_and_no_upload_is_registered(
    settings, database, owner_engine, monkeypatch
):
    """NATS not answering: the upload waits a bounded time, then 503 ``storage_unavailable``
    (never a request hanging, never a 500), and nothing is registered."""
    monkeypatch.setattr(providers, "NATS_WAIT_SECONDS", 0.5)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    down = msgspec.structs.replace(settings, nats_url=f"nats://127.0.0.1:{port}")
    workspace_id, headers, _ = await leads_workspace(database, owner_engine, "Storage down")
    async with AsyncTestClient(app=create_app(SettingsProvider(down))) as client:
        for _ in range(2):  # and the next request tries again
            response = await upload(client, headers, csv_bytes(MESSY_ROWS[:3]))
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "storage_unavailable"
    assert (
        await count_rows(
            owner_engine,
            "SELECT count(*) FROM lead_uploads WHERE workspace_id = :ws",
            ws=workspace_id,
        )
        == 0
    )
