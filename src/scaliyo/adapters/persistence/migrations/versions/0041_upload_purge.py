"""Upload purge: ``lead_uploads.purged_at`` (the file was deleted from blob storage after the
retention; the row stays for its imports' history), the partial index the purge finds due
uploads with, and an index on ``lead_imports.upload_id`` for the cascade check when an upload
without imports is deleted.

Revision ID: 0041
Revises: 0040
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("lead_uploads", sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    # Uploads whose file is still stored, by age: the purge's discovery (as scaliyo_system) and
    # its per-workspace batches (as scaliyo_app: `=` and `<=` on uuid and timestamptz are
    # leakproof, `IS NULL` calls no function). Purged rows leave the index, so it stays small.
    op.create_index(
        "ix_lead_uploads_workspace_id_created_at",
        "lead_uploads",
        ["workspace_id", "created_at"],
        postgresql_where=sa.text("purged_at IS NULL"),
    )
    # ON DELETE CASCADE looks up the referencing imports by upload_id alone (as the table's
    # owner, without the policy); without this every deleted upload scans all imports.
    op.create_index("ix_lead_imports_upload_id", "lead_imports", ["upload_id"])


def downgrade() -> None:
    op.drop_index("ix_lead_imports_upload_id", table_name="lead_imports")
    op.drop_index("ix_lead_uploads_workspace_id_created_at", table_name="lead_uploads")
    op.drop_column("lead_uploads", "purged_at")
