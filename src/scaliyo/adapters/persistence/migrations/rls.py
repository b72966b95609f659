"""Row-level security statements for migrations. Every tenant table goes through here."""

from __future__ import annotations

from alembic import op

# A sub-select, so a statement reads the setting once (an InitPlan) rather than once per row it
# writes or checks (migration 0047).
TENANT_SETTING = "(SELECT NULLIF(current_setting('app.workspace_id', true), '')::uuid)"


def enable_tenant_rls(table: str, column: str = "workspace_id") -> None:
    """ENABLE and FORCE row-level security with the one tenant policy of DESIGN.md."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        f"USING ({column} = {TENANT_SETTING}) "
        f"WITH CHECK ({column} = {TENANT_SETTING})"
    )


def disable_tenant_rls(table: str) -> None:
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
