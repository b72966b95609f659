"""Lead imports: uploads (CSV files in blob storage and what was detected about them), imports
with their resumable progress and counts, and the per-row error report; tenant tables under RLS.

Revision ID: 0040
Revises: 0030
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from scaliyo.adapters.persistence.migrations.rls import disable_tenant_rls, enable_tenant_rls

revision = "0040"
down_revision = "0030"
branch_labels = None
depends_on = None

TENANT_TABLES = ["lead_uploads", "lead_imports", "lead_import_errors"]


def _uuid(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, postgresql.UUID(as_uuid=True), nullable=nullable)


def _text(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _tstz(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default=sa.text("0"))


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=f"fk_{table}_workspace_id_workspaces",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "lead_uploads",
        _uuid("id"),
        _uuid("workspace_id"),
        _text("blob_key", nullable=False),
        _text("filename"),
        sa.Column("size", sa.BigInteger(), nullable=False),
        _text("sha256", nullable=False),
        _text("encoding", nullable=False),
        _text("delimiter", nullable=False),
        sa.Column("has_header", sa.Boolean(), nullable=False),
        sa.Column("columns", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("mapping", postgresql.JSONB(), nullable=False),
        sa.Column("row_estimate", sa.BigInteger(), nullable=False),
        _uuid("created_by", nullable=True),
        _tstz("created_at"),
        _workspace_fk("lead_uploads"),
        sa.PrimaryKeyConstraint("id", name="pk_lead_uploads"),
    )
    op.create_index("ix_lead_uploads_workspace_id_id", "lead_uploads", ["workspace_id", "id"])

    op.create_table(
        "lead_imports",
        _uuid("id"),
        _uuid("workspace_id"),
        _uuid("upload_id"),
        _uuid("job_id", nullable=True),
        _text("status", nullable=False),
        sa.Column("mapping", postgresql.JSONB(), nullable=False),
        _text("duplicate_policy", nullable=False),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.Text()),
            nullable=False,
            server_default=sa.text("'{}'::text[]"),
        ),
        sa.Column("chunk_rows", sa.Integer(), nullable=False),
        sa.Column("total_rows", sa.BigInteger(), nullable=True),
        _count("rows_done"),
        _count("created"),
        _count("updated"),
        _count("duplicates"),
        _count("invalid"),
        _count("limit_reached"),
        _text("error"),
        _uuid("created_by", nullable=True),
        _tstz("created_at"),
        _tstz("started_at", nullable=True),
        _tstz("finished_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'completed', 'failed')", name="status_known"
        ),
        sa.CheckConstraint(
            "duplicate_policy IN ('skip', 'fill_empty', 'overwrite')", name="policy_known"
        ),
        _workspace_fk("lead_imports"),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["lead_uploads.id"],
            name="fk_lead_imports_upload_id_lead_uploads",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lead_imports"),
    )
    op.create_index("ix_lead_imports_workspace_id_id", "lead_imports", ["workspace_id", "id"])

    op.create_table(
        "lead_import_errors",
        _uuid("workspace_id"),
        _uuid("import_id"),
        sa.Column("row", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        _text("column"),
        _text("code", nullable=False),
        _text("message", nullable=False),
        _workspace_fk("lead_import_errors"),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["lead_imports.id"],
            name="fk_lead_import_errors_import_id_lead_imports",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "import_id", "row", "seq", name="pk_lead_import_errors"
        ),
    )

    for table in TENANT_TABLES:
        enable_tenant_rls(table)


def downgrade() -> None:
    for table in TENANT_TABLES:
        disable_tenant_rls(table)
    for table in reversed(TENANT_TABLES):
        op.drop_table(table)
