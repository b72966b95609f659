"""Row-level security and the database roles, checked on the migrated schema."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from scaliyo.adapters.ids import new_id
from scaliyo.adapters.persistence.tables import PLATFORM_TABLES, TENANT_ROOT_TABLES, USER_TABLES
from scaliyo.adapters.persistence.unit_of_work import SqlUnitOfWork, TenantAlreadySet
from scaliyo.domain.jobs.job import Job, Queue
from tests.factories import insert_workspace

CATALOGUE = text(
    """
    SELECT c.relname AS table_name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
           EXISTS (SELECT 1 FROM pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attname = 'workspace_id'
                     AND NOT a.attisdropped) AS has_workspace_id,
           EXISTS (SELECT 1 FROM pg_index i
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = c.oid AND a.attname = 'workspace_id') AS indexed,
           (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'alembic_version'
    ORDER BY c.relname
    """
)


async def test_every_tenant_table_has_forced_rls_and_a_workspace_index(owner_engine):
    async with owner_engine.connect() as conn:
        rows = (await conn.execute(CATALOGUE)).all()
    tenant = [row for row in rows if row.has_workspace_id]
    assert {row.table_name for row in tenant} >= {
        "jobs",
        "audit_log",
        "outbox",
        "inbox",
        "memberships",
        "invites",
        "api_keys",
        "onboarding",
    }
    problems = [
        f"{row.table_name}: enabled={row.enabled} forced={row.forced} "
        f"indexed={row.indexed} policies={row.policies}"
        for row in tenant
        if not (row.enabled and row.forced and row.indexed and row.policies >= 1)
    ]
    assert problems == []
    for table in TENANT_ROOT_TABLES:
        root = next(row for row in rows if row.table_name == table)
        assert root.enabled and root.forced and root.policies >= 1
    unclassified = {
        row.table_name
        for row in rows
        if not row.has_workspace_id
        and row.table_name not in TENANT_ROOT_TABLES
        and row.table_name not in PLATFORM_TABLES
        and row.table_name not in USER_TABLES
    }
    assert unclassified == set(), "every table is a tenant table or a named platform table"


async def test_every_tenant_policy_reads_the_tenant_once_a_statement(owner_engine):
    """The setting is read through a sub-select (run once a statement), not for every row a
    statement writes or filters (migration 0047)."""
    async with owner_engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT tablename, qual, with_check FROM pg_policies"
                    " WHERE schemaname = 'public'"
                )
            )
        ).all()
    assert len(rows) >= 20
    read_once = "( SELECT (NULLIF(current_setting('app.workspace_id'::text, true), ''::text))::uuid"
    assert [row.tablename for row in rows if read_once not in row.qual] == []
    assert [row.tablename for row in rows if read_once not in row.with_check] == []


async def test_app_role_is_unprivileged_and_owns_nothing(owner_engine):
    async with owner_engine.connect() as conn:
        role = (
            await conn.execute(
                text(
                    "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
                    "WHERE rolname = 'scaliyo_app'"
                )
            )
        ).one()
        owned = (
            await conn.execute(
                text(
                    # session-local TEMP tables (import staging) are the app's own, and gone
                    # with its connection; nothing in a real schema is
                    "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE r.rolname = 'scaliyo_app' AND n.nspname NOT LIKE 'pg\\_temp\\_%' "
                    "AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'"
                )
            )
        ).scalar()
        owners = set(
            (
                await conn.execute(
                    text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalars()
        )
        system = (
            await conn.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname='scaliyo_system'")
            )
        ).one()
    assert tuple(role) == (False, False, False, False)
    assert owned == 0
    assert owners == {"scaliyo_owner"}
    assert tuple(system) == (False, True)


async def _add_job(database, workspace_id):
    job = Job.queue_new(
        id=new_id(),
        workspace_id=workspace_id,
        queue=Queue.DATA_PROCESSING,
        type="tenancy.probe",
        params={},
        now=datetime.now(UTC),
    )
    async with SqlUnitOfWork(database.app, workspace_id) as uow:
        await uow.jobs.add(job)
        await uow.commit()
    return job


async def test_app_transaction_without_tenant_reads_no_tenant_row(database, owner_engine):
    workspace_id = await insert_workspace(owner_engine)
    await _add_job(database, workspace_id)
    async with database.app.connect() as conn:
        for table in ("workspaces", "jobs", "outbox", "audit_log", "inbox"):
            count = (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar()
            assert count == 0, table


async def test_workspace_b_cannot_read_update_or_insert_rows_of_a(database, owner_engine):
    a = await insert_workspace(owner_engine, "A")
    b = await insert_workspace(owner_engine, "B")
    job_a = await _add_job(database, a)

    async with SqlUnitOfWork(database.app, b) as uow:
        assert await uow.jobs.get(job_a.id) is None
        assert await uow.workspaces.get(a) is None
        assert await uow.workspaces.get(b) is not None
        visible = (await uow.connection.execute(text("SELECT count(*) FROM jobs"))).scalar()
        assert visible == 0
        updated = await uow.connection.execute(
            text("UPDATE jobs SET error = 'hijacked' WHERE id = :id"), {"id": job_a.id}
        )
        assert updated.rowcount == 0
        deleted = await uow.connection.execute(
            text("DELETE FROM jobs WHERE id = :id"), {"id": job_a.id}
        )
        assert deleted.rowcount == 0
        await uow.commit()

    with pytest.raises(ProgrammingError, match="row-level security"):
        async with SqlUnitOfWork(database.app, b) as uow:
            await uow.connection.execute(
                text(
                    "INSERT INTO audit_log (id, workspace_id, actor, action) "
                    "VALUES (:id, :ws, 'test', 'forged')"
                ),
                {"id": new_id(), "ws": a},
            )

    with pytest.raises(ProgrammingError, match="row-level security"):
        async with SqlUnitOfWork(database.app, b) as uow:
            # moving B's own row into A is refused too (WITH CHECK)
            job_b = await _add_job(database, b)
            await uow.connection.execute(
                text("UPDATE jobs SET workspace_id = :a WHERE id = :id"),
                {"a": a, "id": job_b.id},
            )

    async with owner_engine.connect() as conn:
        error = (
            await conn.execute(text("SELECT error FROM jobs WHERE id = :id"), {"id": job_a.id})
        ).scalar()
    assert error is None


async def test_tenant_setting_does_not_leak_to_the_next_transaction(database, owner_engine):
    a = await insert_workspace(owner_engine)
    await _add_job(database, a)
    async with SqlUnitOfWork(database.app, a) as uow:
        assert (await uow.connection.execute(text("SELECT count(*) FROM jobs"))).scalar() == 1
        await uow.commit()
    # the pool hands the same connection back: the setting was transaction-local
    for _ in range(3):
        async with database.app.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM jobs"))).scalar() == 0


async def test_a_transaction_tenant_cannot_be_switched(database, owner_engine):
    a = await insert_workspace(owner_engine)
    b = await insert_workspace(owner_engine)
    async with SqlUnitOfWork(database.app, a) as uow:
        with pytest.raises(TenantAlreadySet):
            await uow.scope_to(b)


async def test_app_role_cannot_touch_platform_tables_or_ddl(database):
    async with database.app.connect() as conn:
        with pytest.raises(DBAPIError, match="permission denied"):
            await conn.execute(text("SELECT count(*) FROM rate_limit_events"))
    async with database.app.connect() as conn:
        with pytest.raises(DBAPIError, match="permission denied|must be owner"):
            await conn.execute(text("ALTER TABLE jobs DISABLE ROW LEVEL SECURITY"))
    async with database.app.connect() as conn:
        with pytest.raises(DBAPIError, match="permission denied"):
            await conn.execute(text("CREATE TABLE sneaky (id int)"))
