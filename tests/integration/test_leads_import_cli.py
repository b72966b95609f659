"""``scaliyo leads import FILE --workspace ID``: the API's pipeline from a terminal, with a
progress bar and the counts at the end; bad input is a message and an exit code, no traceback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from nats.js.errors import NotFoundError

from scaliyo.adapters.blobs.nats_object_store import DEFAULT_BUCKET
from scaliyo.application.leads.import_commands import CancelImport
from scaliyo.entrypoints.cli.lead_import import follow_progress
from tests.integration.helpers.cli import cli_env, scaliyo
from tests.integration.helpers.identity import as_user
from tests.integration.helpers.imports import (
    APOLLO,
    MemoryUploads,
    csv_bytes,
    import_bus,
    start_memory_import,
)
from tests.integration.helpers.leads import count_rows, leads_workspace


async def stored_files(nc, workspace) -> set[str]:
    """The names of the workspace's files in the blob bucket."""
    try:
        store = await nc.jetstream().object_store(DEFAULT_BUCKET)
        found = await store.list(ignore_deletes=True)
    except NotFoundError:  # no bucket yet, or an empty one
        return set()
    return {info.name for info in found if info.name.startswith(f"{workspace}/")}


ROWS = [
    APOLLO,
    ["Ada", "Lovelace", "CTO", "Analytical", "ada@analytical.example", "", "", "London", "UK"],
    ["Grace", "Hopper", "Admiral", "Navy", "grace@navy.example", "", "", "Arlington", "US"],
    [" ADA ", "Lovelace", "CTO", "Analytical", " Ada@Analytical.EXAMPLE ", "", "", "", ""],
    ["Bad", "Email", "", "", "not-an-email", "", "", "", ""],
]


async def test_the_cli_imports_with_a_progress_bar_and_prints_the_counts(
    settings,
    database,
    owner_engine,
    tmp_path: Path,
):
    env = cli_env(settings)
    workspace, _, _ = await leads_workspace(database, owner_engine, "CLI Import Co")
    file = tmp_path / "people.csv"
    file.write_bytes(csv_bytes(ROWS))
    command = ("leads", "import", str(file), "--workspace", str(workspace), "--tag", "Conf 2026")

    code, out, err = await scaliyo(env, *command)

    assert code == 0, err
    assert "importing" in err  # the progress bar
    assert "people.csv into 'CLI Import Co': utf-8" in err and "Email → email" in err
    assert "created 2, updated 0, duplicates 1, invalid 1, limit reached 0" in out
    assert "2 rows were not created or updated" in err
    emails = await count_rows(
        owner_engine,
        "SELECT count(*) FROM leads WHERE workspace_id = :ws AND 'Conf 2026' = ANY(tags) "
        "AND email IN ('ada@analytical.example', 'grace@navy.example')",
        ws=workspace,
    )
    assert emails == 2

    code, out, err = await scaliyo(env, *command)  # the same file again changes nothing
    assert code == 0, err
    assert "created 0, updated 0, duplicates 3, invalid 1, limit reached 0" in out
    assert (
        await count_rows(
            owner_engine, "SELECT count(*) FROM leads WHERE workspace_id = :ws", ws=workspace
        )
        == 2
    )


async def test_a_mapping_file_is_used_and_bad_input_is_a_message_not_a_traceback(
    nc,
    settings,
    database,
    owner_engine,
    tmp_path: Path,
):
    env = cli_env(settings)
    workspace, _, _ = await leads_workspace(database, owner_engine, "CLI Mapping Co")
    file = tmp_path / "people.csv"
    file.write_bytes(csv_bytes(ROWS))
    mapping = tmp_path / "mapping.json"
    # only the email and the first name: the titles and companies stay empty
    mapping.write_text(json.dumps({"Email": "email", "First Name": "first_name"}))
    code, out, err = await scaliyo(
        env, "leads", "import", str(file), "--workspace", str(workspace), "--mapping",
        str(mapping),
    )  # fmt: skip
    assert code == 0, err
    assert "created 2," in out
    assert (
        await count_rows(
            owner_engine,
            "SELECT count(*) FROM leads WHERE workspace_id = :ws AND last_name IS NULL "
            "AND title IS NULL AND first_name IS NOT NULL",
            ws=workspace,
        )
        == 2
    )

    stored = await stored_files(nc, workspace)
    mapping.write_text("{not json")  # read before anything is stored
    code, _, err = await scaliyo(
        env, "leads", "import", str(file), "--workspace", str(workspace), "--mapping",
        str(mapping),
    )  # fmt: skip
    assert code == 2 and "the mapping file cannot be read as JSON" in err
    assert "Traceback" not in err

    mapping.write_text(json.dumps({"Work Email": "email"}))
    code, _, err = await scaliyo(
        env, "leads", "import", str(file), "--workspace", str(workspace), "--mapping",
        str(mapping),
    )  # fmt: skip
    assert code == 2 and "the mapping names 'Work Email', which the file lacks" in err

    mapping.write_text(json.dumps({"Email": "favourite_colour"}))
    code, _, err = await scaliyo(
        env, "leads", "import", str(file), "--workspace", str(workspace), "--mapping",
        str(mapping),
    )  # fmt: skip
    assert code == 1 and "invalid_mapping" in err and "mapping[0].field: unknown_field" in err
    # a refused mapping keeps no file: the uploads it made were deleted
    assert await stored_files(nc, workspace) == stored
    uploads = await count_rows(
        owner_engine, "SELECT count(*) FROM lead_uploads WHERE workspace_id = :ws", ws=workspace
    )
    assert uploads == 1

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code, _, err = await scaliyo(env, "leads", "import", str(empty), "--workspace", str(workspace))
    assert code == 1 and "Traceback" not in err and "empty" in err.lower()
    assert await stored_files(nc, workspace) == stored  # the refused file is not kept

    unknown = "00000000-0000-7000-8000-000000000000"
    code, _, err = await scaliyo(env, "leads", "import", str(file), "--workspace", unknown)
    assert code == 1 and err.startswith("workspace_not_found: ") and "Traceback" not in err
    assert (
        await count_rows(
            owner_engine, "SELECT count(*) FROM lead_uploads WHERE workspace_id = :ws", ws=unknown
        )
        == 0
    )


async def test_the_cli_stops_following_an_import_cancelled_meanwhile(database, owner_engine):
    """An import cancelled from the API while the CLI shows its progress ends the CLI's wait
    with the cancelled import (it waited for ever for completed or failed before)."""
    workspace_id, _, owner = await leads_workspace(database, owner_engine, "CLI cancelled")
    uploads = MemoryUploads()
    bus = import_bus(database, chunk_rows=10)
    context = as_user(owner, workspace_id, "owner")
    import_id = await start_memory_import(bus, context, uploads, csv_bytes(ROWS))
    await bus.execute(CancelImport(import_id=import_id), context)
    job = asyncio.ensure_future(asyncio.sleep(0))  # the CLI's job, ended
    await job
    view = await asyncio.wait_for(follow_progress(bus, context, import_id, job), timeout=10)
    assert view.status == "cancelled"
