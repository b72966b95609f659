"""Upload purge in two steps: ``lead_uploads.purged_at`` now marks an upload as expired *before*
its file is deleted (so no import can start from it meanwhile), and ``file_deleted_at`` says
the file is gone. Uploads purged before this migration lost their file first, so they get
``file_deleted_at = purged_at``. A partial index finds the uploads marked but whose file is
not yet deleted (a purge stopped between the steps): there are next to none.

Revision ID: 0045
Revises: 0044
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "lead_uploads", sa.Column("file_deleted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute("UPDATE lead_uploads SET file_deleted_at = purged_at WHERE purged_at IS NOT NULL")
    op.create_index(
        "ix_lead_uploads_workspace_id_purged_at",
        "lead_uploads",
        ["workspace_id", "purged_at"],
        postgresql_where=sa.text("purged_at IS NOT NULL AND file_deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_lead_uploads_workspace_id_purged_at", table_name="lead_uploads")
    op.drop_column("lead_uploads", "file_deleted_at")
