"""Outbox rows that can never be published are set aside: ``dead_at`` and ``dead_reason``.

A message larger than the NATS server takes (its ``max_payload``) fails every time. Before, the
relay tried it again every round, and every round then counted as failed: the relay backed off
to a batch every 10 s for every aggregate, and once 500 rows of that message's aggregate were
waiting behind it, no batch held anything else. Now such a row is marked dead (kept, with why,
for an operator) and its aggregate goes on. The unsent-rows index leaves dead rows out.

Revision ID: 0048
Revises: 0047
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("outbox", sa.Column("dead_reason", sa.Text(), nullable=True))
    op.drop_index("ix_outbox_unsent_seq", table_name="outbox")
    op.create_index(
        "ix_outbox_unsent_seq",
        "outbox",
        ["seq"],
        postgresql_where=sa.text("sent_at IS NULL AND dead_at IS NULL"),
    )
    op.create_index(
        "ix_outbox_dead_at", "outbox", ["dead_at"], postgresql_where=sa.text("dead_at IS NOT NULL")
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_dead_at", table_name="outbox")
    op.drop_index("ix_outbox_unsent_seq", table_name="outbox")
    op.create_index(
        "ix_outbox_unsent_seq", "outbox", ["seq"], postgresql_where=sa.text("sent_at IS NULL")
    )
    op.drop_column("outbox", "dead_reason")
    op.drop_column("outbox", "dead_at")
