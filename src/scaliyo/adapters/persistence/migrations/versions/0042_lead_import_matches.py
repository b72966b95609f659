"""Lead import matches: which existing lead each import's rows already matched, and at which row,
so that an import resumed after a crash treats a later row reaching the same lead (by another
key) as a duplicate, exactly as an uninterrupted run does. Tenant table under RLS.

Revision ID: 0042
Revises: 0041
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from scaliyo.adapters.persistence.migrations.rls import disable_tenant_rls, enable_tenant_rls

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lead_import_matches",
        sa.Column("workspace_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("import_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("lead_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("row", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_lead_import_matches_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["lead_imports.id"],
            name="fk_lead_import_matches_import_id_lead_imports",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "import_id", "lead_id", name="pk_lead_import_matches"
        ),
    )
    enable_tenant_rls("lead_import_matches")


def downgrade() -> None:
    disable_tenant_rls("lead_import_matches")
    op.drop_table("lead_import_matches")
