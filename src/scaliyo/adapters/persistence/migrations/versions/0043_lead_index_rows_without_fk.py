"""Lead index rows without a foreign key: ``lead_search_terms`` and ``lead_tags`` are derived
rows (several a lead) that the repository writes with every lead; their foreign key to
``workspaces`` was checked for each row (about a sixth of an import's time on search terms).
A workspace's deletion removes them instead by a trigger on ``workspaces``, as the cascade did.

The trigger function runs with the tables under forced row-level security, so it sets the
deleted workspace as the tenant for its two deletes and puts the caller's setting back.

Revision ID: 0043
Revises: 0042
"""

from __future__ import annotations

from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

_TABLES = ("lead_search_terms", "lead_tags")


def upgrade() -> None:
    for table in _TABLES:
        op.drop_constraint(f"fk_{table}_workspace_id_workspaces", table, type_="foreignkey")
    op.execute(
        """
        CREATE FUNCTION delete_workspace_lead_index_rows() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            caller text := current_setting('app.workspace_id', true);
        BEGIN
            PERFORM set_config('app.workspace_id', OLD.id::text, true);
            DELETE FROM lead_search_terms WHERE workspace_id = OLD.id;
            DELETE FROM lead_tags WHERE workspace_id = OLD.id;
            PERFORM set_config('app.workspace_id', coalesce(caller, ''), true);
            RETURN OLD;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER delete_lead_index_rows AFTER DELETE ON workspaces "
        "FOR EACH ROW EXECUTE FUNCTION delete_workspace_lead_index_rows()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER delete_lead_index_rows ON workspaces")
    op.execute("DROP FUNCTION delete_workspace_lead_index_rows()")
    for table in _TABLES:
        op.create_foreign_key(
            f"fk_{table}_workspace_id_workspaces",
            table,
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
