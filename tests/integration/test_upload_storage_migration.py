"""Migration 0050 starts each workspace's ``storage_bytes`` counter at the bytes of its uploads
whose file is still stored (expired ones whose file the purge has not deleted yet included), so
that what the purge gives back matches what was counted."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from scaliyo.adapters.persistence import migrate
from tests.conftest import recreate_database

WORKSPACES = ("00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b")


async def test_each_workspace_starts_counting_the_files_it_still_stores(server_url):
    url = await recreate_database(server_url, "scaliyo_upload_storage")
    bootstrap = make_url(url)
    await migrate.upgrade(bootstrap, "0049")
    engine = create_async_engine(url)  # the superuser: writes every workspace's rows
    # (workspace, size, expired, file deleted)
    uploads = [(0, 1_000, False, False), (0, 250, True, False), (0, 9_999, True, True)]
    uploads += [(1, 42, False, False)]
    try:
        async with engine.begin() as conn:
            for index, workspace in enumerate(WORKSPACES):
                await conn.execute(
                    text("INSERT INTO workspaces (id, name) VALUES (:id, :name)"),
                    {"id": workspace, "name": f"Co {index}"},
                )
            for n, (ws, size, expired, deleted) in enumerate(uploads):
                await conn.execute(
                    text(
                        "INSERT INTO lead_uploads (id, workspace_id, blob_key, size, sha256,"
                        " encoding, delimiter, has_header, columns, mapping, row_estimate,"
                        " created_at, purged_at, file_deleted_at) VALUES (:id, :ws, :key, :size,"
                        " '', 'utf-8', ',', true, '{}', '[]', 1, now(),"
                        " CASE WHEN :expired THEN now() END, CASE WHEN :deleted THEN now() END)"
                    ),
                    {
                        "id": f"00000000-0000-7000-8000-0000000002{n:02d}",
                        "ws": WORKSPACES[ws],
                        "key": f"{WORKSPACES[ws]}/upload/{n}",
                        "size": size,
                        "expired": expired,
                        "deleted": deleted,
                    },
                )
        await migrate.upgrade(bootstrap)
        async with engine.connect() as conn:
            counted = dict(
                (
                    await conn.execute(
                        text(
                            "SELECT workspace_id::text, used FROM usage_counters"
                            " WHERE metric = 'storage_bytes' AND period = 'total'"
                        )
                    )
                ).all()
            )
            forced = dict(
                (
                    await conn.execute(
                        text(
                            "SELECT relname, relforcerowsecurity FROM pg_class"
                            " WHERE relname IN ('lead_uploads', 'usage_counters')"
                        )
                    )
                ).all()
            )
        assert counted == {WORKSPACES[0]: 1_250, WORKSPACES[1]: 42}
        assert forced == {"lead_uploads": True, "usage_counters": True}
    finally:
        await engine.dispose()
