from sqlalchemy import text


async def test_head_has_tables(owner_engine):
    async with owner_engine.connect() as conn:
        names = set(
            (
                await conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname='public'")
                )
            ).scalars()
        )
    assert {"workspaces", "jobs", "audit_log", "outbox", "inbox"} <= names
