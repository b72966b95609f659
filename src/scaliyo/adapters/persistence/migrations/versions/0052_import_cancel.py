"""An import can be cancelled: status ``cancelled``, and ``cancel_requested_at`` for a running
one, which its job reads after each chunk it commits and then stops.

Revision ID: 0052
Revises: 0051
"""

from __future__ import annotations

from alembic import op

revision = "0052"
down_revision = "0051"
branch_labels = None
depends_on = None


def _statuses(statuses: str) -> None:
    op.execute("ALTER TABLE lead_imports DROP CONSTRAINT ck_lead_imports_status_known")
    op.execute(
        "ALTER TABLE lead_imports ADD CONSTRAINT ck_lead_imports_status_known "
        f"CHECK (status IN ({statuses}))"
    )


def upgrade() -> None:
    op.execute("ALTER TABLE lead_imports ADD COLUMN cancel_requested_at timestamptz")
    _statuses("'queued', 'running', 'completed', 'failed', 'cancelled'")


def downgrade() -> None:
    op.execute("UPDATE lead_imports SET status = 'failed' WHERE status = 'cancelled'")
    _statuses("'queued', 'running', 'completed', 'failed'")
    op.execute("ALTER TABLE lead_imports DROP COLUMN cancel_requested_at")
