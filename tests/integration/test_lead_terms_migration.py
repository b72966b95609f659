"""Migration 0046 gives every lead the list of its search-term rows, across workspaces (under
forced row-level security), and drops the terms' second index."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from scaliyo.adapters.persistence import migrate
from tests.conftest import recreate_database

WORKSPACES = ("00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b")
STAGE = "00000000-0000-7000-8000-0000000000{}f"


def _lead(n: int) -> str:
    return f"00000000-0000-7000-8000-0000000001{n:02d}"


async def test_leads_get_their_term_rows_and_the_second_index_goes(server_url):
    url = await recreate_database(server_url, "scaliyo_terms_backfill")
    bootstrap = make_url(url)
    await migrate.upgrade(bootstrap, "0045")
    engine = create_async_engine(url)  # the superuser: writes every workspace's rows
    # (workspace, lead, terms, deleted): a deleted lead has no term rows
    leads = [
        (0, 1, ["ada", "acme", "lovelace"], False),
        (0, 2, ["grace"], False),
        (1, 3, ["ada", "zoe"], False),
        (1, 4, [], True),
    ]
    try:
        async with engine.begin() as conn:
            for index, workspace in enumerate(WORKSPACES):
                await conn.execute(
                    text("INSERT INTO workspaces (id, name) VALUES (:id, :name)"),
                    {"id": workspace, "name": f"Co {index}"},
                )
                await conn.execute(
                    text(
                        "INSERT INTO pipeline_stages (workspace_id, id, name, name_key, color,"
                        " position) VALUES (:ws, :id, 'New', 'new', '#000000', 0)"
                    ),
                    {"ws": workspace, "id": STAGE.format(index)},
                )
            for ws, n, terms, deleted in leads:
                await conn.execute(
                    text(
                        "INSERT INTO leads (id, workspace_id, email, source, status, sort_name,"
                        " search_text, created_at, updated_at, deleted_at) VALUES (:id, :ws,"
                        " :email, 'csv', :status, 'x', 'x', now(), now(),"
                        " CASE WHEN :deleted THEN now() END)"
                    ),
                    {
                        "id": _lead(n),
                        "ws": WORKSPACES[ws],
                        "email": f"p{n}@example.com",
                        "status": STAGE.format(ws),
                        "deleted": deleted,
                    },
                )
                for term in terms:
                    await conn.execute(
                        text(
                            "INSERT INTO lead_search_terms (workspace_id, term, lead_id)"
                            " VALUES (:ws, :term, :id)"
                        ),
                        {"ws": WORKSPACES[ws], "term": term, "id": _lead(n)},
                    )
        await migrate.upgrade(bootstrap)
        async with engine.connect() as conn:
            listed = dict(
                (await conn.execute(text("SELECT id::text, search_terms FROM leads"))).all()
            )
            index = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_indexes"
                    " WHERE indexname = 'ix_lead_search_terms_workspace_id_lead_id'"
                )
            )
            forced = dict(
                (
                    await conn.execute(
                        text(
                            "SELECT relname, relforcerowsecurity FROM pg_class"
                            " WHERE relname IN ('leads', 'lead_search_terms')"
                        )
                    )
                ).all()
            )
        assert listed == {_lead(n): " ".join(sorted(terms)) for _, n, terms, _ in leads}
        assert index == 0
        assert forced == {"leads": True, "lead_search_terms": True}
    finally:
        await engine.dispose()
