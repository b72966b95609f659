"""Payments: each workspace's customer at a payment provider and the subscription it pays with
there, the provider events applied (one row per event id), and the start of a past-due
subscription's grace period.

Revision ID: 0020
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from scaliyo.adapters.persistence.migrations.rls import disable_tenant_rls, enable_tenant_rls

revision = "0020"
down_revision = "0011"
branch_labels = None
depends_on = None

TENANT_TABLES = ["payment_accounts", "payment_events"]


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=f"fk_{table}_workspace_id_workspaces",
        ondelete="CASCADE",
    )


def _tstz(name: str, *, nullable: bool = False, default_now: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.text("now()") if default_now else None,
    )


def upgrade() -> None:
    op.add_column(
        "subscriptions", sa.Column("past_due_since", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_check_constraint(
        "ck_subscriptions_grace_only_past_due",
        "subscriptions",
        "status = 'past_due' OR past_due_since IS NULL",
    )

    op.create_table(
        "payment_accounts",
        sa.Column("workspace_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("subscription_id", sa.Text(), nullable=True),
        _tstz("created_at", default_now=True),
        _tstz("updated_at", default_now=True),
        sa.CheckConstraint(
            "provider ~ '^[a-z][a-z0-9_]{1,31}$'", name="ck_payment_accounts_provider_format"
        ),
        _workspace_fk("payment_accounts"),
        sa.PrimaryKeyConstraint("workspace_id", "provider", name="pk_payment_accounts"),
        sa.UniqueConstraint(
            "provider", "customer_id", name="uq_payment_accounts_provider_customer_id"
        ),
    )

    op.create_table(
        "payment_events",
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("workspace_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        _tstz("received_at", default_now=True),
        _workspace_fk("payment_events"),
        sa.PrimaryKeyConstraint("provider", "event_id", name="pk_payment_events"),
    )
    op.create_index(
        "ix_payment_events_workspace_id_received_at",
        "payment_events",
        ["workspace_id", "received_at"],
    )

    for table in TENANT_TABLES:
        enable_tenant_rls(table)


def downgrade() -> None:
    for table in TENANT_TABLES:
        disable_tenant_rls(table)
    for table in reversed(TENANT_TABLES):
        op.drop_table(table)
    op.drop_constraint("ck_subscriptions_grace_only_past_due", "subscriptions", type_="check")
    op.drop_column("subscriptions", "past_due_since")
