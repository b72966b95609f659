"""Uploaded files count against the plan's storage (``storage_bytes``) from now on: each
workspace's counter starts at the bytes of its uploads whose file is still stored.

``POST /leads/uploads`` admits a file's bytes in the transaction that registers it, and the
upload purge gives them back in the one that marks its file deleted; uploads made before this
migration are counted here, so the purge's giving back matches what was counted. The count
reads and writes every tenant's rows, so it lifts the forced row-level security of the two
tables for its own transaction, as 0046 does.

Revision ID: 0050
Revises: 0049
"""

from __future__ import annotations

from alembic import op

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None


_TABLES = ("lead_uploads", "usage_counters")


def upgrade() -> None:
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(
        "INSERT INTO usage_counters (workspace_id, metric, subject, period, used, updated_at) "
        "SELECT workspace_id, 'storage_bytes', '', 'total', sum(greatest(size, 1)), now() "
        "FROM lead_uploads WHERE file_deleted_at IS NULL GROUP BY workspace_id "
        "ON CONFLICT (workspace_id, metric, subject, period) "
        "DO UPDATE SET used = excluded.used, updated_at = excluded.updated_at"
    )
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.execute("ALTER TABLE usage_counters NO FORCE ROW LEVEL SECURITY")
    op.execute("DELETE FROM usage_counters WHERE metric = 'storage_bytes'")
    op.execute("ALTER TABLE usage_counters FORCE ROW LEVEL SECURITY")
