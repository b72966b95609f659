"""Billing and credits: plans (platform data, seeded where absent), subscriptions, the credit
ledger (balances, reservations, entries) and usage counters, tenant tables under RLS. Workspaces
that exist already start a trial, as new ones do.

Revision ID: 0010
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from scaliyo.adapters.persistence.migrations.rls import disable_tenant_rls, enable_tenant_rls

revision = "0010"
down_revision = "0002"
branch_labels = None
depends_on = None

TENANT_TABLES = [
    "subscriptions",
    "credit_balances",
    "credit_reservations",
    "credit_ledger",
    "usage_counters",
]
LIMITS = (
    "ai_credits",
    "contacts",
    "emails_per_month",
    "emails_per_day",
    "seats",
    "storage_mb",
    "linkedin_actions_per_day",
    "linkedin_actions_per_month",
)
# The standard plans as they were when this migration was written (PRODUCT.md; the daily
# e-mail and LinkedIn limits are our defaults). Inserted only where absent: admins' edits stay.
SEED_PLANS = [
    {
        "code": "starter",
        "name": "Starter",
        "monthly_price_cents": 2900,
        "limits": (1_000, 1_000, 2_000, 200, 1, 1_000, 50, 1_000),
        "features": ["ai_basic"],
        "sort_order": 10,
    },
    {
        "code": "growth",
        "name": "Growth",
        "monthly_price_cents": 7900,
        "limits": (6_000, 10_000, 15_000, 1_000, 3, 10_000, 150, 3_000),
        "features": ["ai_basic", "ai_drafts", "ai_personalisation", "automated_warmup"],
        "sort_order": 20,
    },
    {
        "code": "scale",
        "name": "Scale",
        "monthly_price_cents": 19900,
        "limits": (20_000, 50_000, 40_000, 2_500, 10, 50_000, 300, 6_000),
        "features": [
            "ai_basic",
            "ai_drafts",
            "ai_personalisation",
            "ai_advanced",
            "api_access",
            "webhooks",
            "automated_warmup",
            "inbox_monitoring",
            "extra_seats",
        ],
        "sort_order": 30,
    },
]
TRIAL_PLAN = "starter"
TRIAL_DAYS = 14


def _uuid(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, postgresql.UUID(as_uuid=True), nullable=nullable)


def _tstz(name: str, *, nullable: bool = False, default_now: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.text("now()") if default_now else None,
    )


def _bigint(name: str, *, nullable: bool = False, default: str | None = None) -> sa.Column:
    return sa.Column(
        name,
        sa.BigInteger(),
        nullable=nullable,
        server_default=None if default is None else sa.text(default),
    )


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=f"fk_{table}_workspace_id_workspaces",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False, server_default=sa.text("'usd'")),
        _bigint("monthly_price_cents"),
        _bigint("ai_credits"),
        _bigint("contacts", nullable=True),
        _bigint("emails_per_month", nullable=True),
        _bigint("emails_per_day", nullable=True),
        sa.Column("seats", sa.Integer(), nullable=True),
        _bigint("storage_mb", nullable=True),
        _bigint("linkedin_actions_per_day", nullable=True),
        _bigint("linkedin_actions_per_month", nullable=True),
        sa.Column(
            "features",
            postgresql.ARRAY(sa.Text()),
            nullable=False,
            server_default=sa.text("'{}'::text[]"),
        ),
        sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        sa.Column("sort_order", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("stripe_price_monthly", sa.Text(), nullable=True),
        sa.Column("stripe_price_annual", sa.Text(), nullable=True),
        _tstz("created_at", default_now=True),
        _tstz("updated_at", default_now=True),
        sa.CheckConstraint("code ~ '^[a-z][a-z0-9_-]{1,39}$'", name="ck_plans_code_format"),
        sa.CheckConstraint(
            "monthly_price_cents >= 0 AND ai_credits >= 0 AND coalesce(contacts, 0) >= 0 "
            "AND coalesce(emails_per_month, 0) >= 0 AND coalesce(emails_per_day, 0) >= 0 "
            "AND coalesce(seats, 0) >= 0 AND coalesce(storage_mb, 0) >= 0 "
            "AND coalesce(linkedin_actions_per_day, 0) >= 0 "
            "AND coalesce(linkedin_actions_per_month, 0) >= 0",
            name="ck_plans_non_negative",
        ),
        sa.PrimaryKeyConstraint("code", name="pk_plans"),
    )
    # Platform data: requests read plans, only operators and the admin console write them.
    op.execute("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON plans FROM scaliyo_app")
    columns = ", ".join(LIMITS)
    values = ", ".join(f"CAST(:{name} AS bigint)" for name in LIMITS)
    op.get_bind().execute(
        sa.text(
            f"INSERT INTO plans (code, name, monthly_price_cents, {columns}, features, sort_order) "
            f"VALUES (:code, :name, :monthly_price_cents, {values}, "
            "CAST(:features AS text[]), :sort_order) "
            "ON CONFLICT (code) DO NOTHING"
        ),
        [
            {
                "code": plan["code"],
                "name": plan["name"],
                "monthly_price_cents": plan["monthly_price_cents"],
                **dict(zip(LIMITS, plan["limits"], strict=True)),
                "features": plan["features"],
                "sort_order": plan["sort_order"],
            }
            for plan in SEED_PLANS
        ],
    )

    op.create_table(
        "subscriptions",
        _uuid("workspace_id"),
        sa.Column("plan_code", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("interval", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        _tstz("current_period_start"),
        _tstz("current_period_end"),
        _tstz("trial_end", nullable=True),
        sa.Column(
            "cancel_at_period_end", sa.Boolean(), nullable=False, server_default=sa.text("false")
        ),
        sa.Column("pending_plan_code", sa.Text(), nullable=True),
        sa.Column("extra_seats", sa.Integer(), nullable=False, server_default=sa.text("0")),
        _tstz("ended_at", nullable=True),
        sa.Column("ended_reason", sa.Text(), nullable=True),
        _tstz("created_at", default_now=True),
        _tstz("updated_at", default_now=True),
        sa.CheckConstraint(
            "status IN ('trialing', 'active', 'past_due', 'canceled', 'incomplete')",
            name="ck_subscriptions_status_known",
        ),
        sa.CheckConstraint("interval IN ('month', 'year')", name="ck_subscriptions_interval_known"),
        sa.CheckConstraint(
            "source IN ('trial', 'operator', 'stripe')", name="ck_subscriptions_source_known"
        ),
        sa.CheckConstraint(
            "current_period_end > current_period_start", name="ck_subscriptions_period_order"
        ),
        sa.CheckConstraint(
            "status <> 'trialing' OR trial_end IS NOT NULL", name="ck_subscriptions_trial_has_end"
        ),
        sa.CheckConstraint("extra_seats >= 0", name="ck_subscriptions_extra_seats_non_negative"),
        _workspace_fk("subscriptions"),
        sa.ForeignKeyConstraint(
            ["plan_code"], ["plans.code"], name="fk_subscriptions_plan_code_plans"
        ),
        sa.ForeignKeyConstraint(
            ["pending_plan_code"], ["plans.code"], name="fk_subscriptions_pending_plan_code_plans"
        ),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_subscriptions"),
    )
    op.create_index(
        "ix_subscriptions_trial_end",
        "subscriptions",
        ["trial_end"],
        postgresql_where=sa.text("status = 'trialing'"),
    )

    op.create_table(
        "credit_balances",
        _uuid("workspace_id"),
        _bigint("allowance", default="0"),
        _bigint("purchased", default="0"),
        _bigint("reserved", default="0"),
        _tstz("period_start", nullable=True),
        _tstz("period_end", nullable=True),
        _bigint("period_granted", default="0"),
        _bigint("period_spent", default="0"),
        _tstz("updated_at", default_now=True),
        sa.CheckConstraint(
            "allowance >= 0 AND purchased >= 0 AND reserved >= 0 AND period_granted >= 0 "
            "AND period_spent >= 0",
            name="ck_credit_balances_buckets_non_negative",
        ),
        sa.CheckConstraint(
            "allowance + purchased >= reserved", name="ck_credit_balances_available_non_negative"
        ),
        _workspace_fk("credit_balances"),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_credit_balances"),
    )

    op.create_table(
        "credit_reservations",
        _uuid("id"),
        _uuid("workspace_id"),
        sa.Column("operation_id", sa.Text(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        _bigint("credits"),
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'open'")),
        _bigint("charged", nullable=True),
        _bigint("tokens", nullable=True),
        _tstz("created_at", default_now=True),
        _tstz("expires_at"),
        _tstz("closed_at", nullable=True),
        sa.CheckConstraint("credits > 0", name="ck_credit_reservations_credits_positive"),
        sa.CheckConstraint(
            "status IN ('open', 'settled', 'released', 'expired')",
            name="ck_credit_reservations_status_known",
        ),
        sa.CheckConstraint(
            "charged IS NULL OR (charged >= 0 AND charged <= credits)",
            name="ck_credit_reservations_charge_within_reservation",
        ),
        _workspace_fk("credit_reservations"),
        sa.PrimaryKeyConstraint("id", name="pk_credit_reservations"),
        sa.UniqueConstraint(
            "workspace_id",
            "operation_id",
            name="uq_credit_reservations_workspace_id_operation_id",
        ),
    )
    op.create_index(
        "ix_credit_reservations_open_expires_at",
        "credit_reservations",
        ["expires_at"],
        postgresql_where=sa.text("status = 'open'"),
    )

    op.create_table(
        "credit_ledger",
        _uuid("id"),
        _uuid("workspace_id"),
        sa.Column("kind", sa.Text(), nullable=False),
        _bigint("amount"),
        sa.Column("operation_id", sa.Text(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=True),
        _uuid("reservation_id", nullable=True),
        _bigint("tokens", nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        _tstz("at", default_now=True),
        sa.CheckConstraint(
            "kind IN ('grant', 'top_up', 'expire', 'purchase', 'manual_grant', 'charge')",
            name="ck_credit_ledger_kind_known",
        ),
        sa.CheckConstraint(
            "(kind IN ('expire', 'charge')) = (amount < 0) AND amount <> 0",
            name="ck_credit_ledger_sign",
        ),
        _workspace_fk("credit_ledger"),
        sa.PrimaryKeyConstraint("id", name="pk_credit_ledger"),
        sa.UniqueConstraint(
            "workspace_id",
            "kind",
            "operation_id",
            name="uq_credit_ledger_workspace_id_kind_operation_id",
        ),
    )
    op.create_index("ix_credit_ledger_workspace_id_id", "credit_ledger", ["workspace_id", "id"])

    op.create_table(
        "usage_counters",
        _uuid("workspace_id"),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("period", sa.Text(), nullable=False),
        _bigint("used", default="0"),
        _bigint("last_limit", nullable=True),
        _tstz("updated_at", default_now=True),
        sa.CheckConstraint("used >= 0", name="ck_usage_counters_used_non_negative"),
        _workspace_fk("usage_counters"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "metric", "subject", "period", name="pk_usage_counters"
        ),
    )
    op.create_index("ix_usage_counters_updated_at", "usage_counters", ["updated_at"])

    _start_trials_of_existing_workspaces()

    for table in TENANT_TABLES:
        enable_tenant_rls(table)


def _start_trials_of_existing_workspaces() -> None:
    """Workspaces made before billing existed start a trial now, as new ones do at creation.

    ``workspaces`` forces row-level security even on its owner; it is lifted for these
    statements only, inside this migration's transaction, and the new tables get theirs after.
    """
    op.execute("ALTER TABLE workspaces NO FORCE ROW LEVEL SECURITY")
    op.execute(
        f"""
        INSERT INTO subscriptions (workspace_id, plan_code, status, interval, source,
                                   current_period_start, current_period_end, trial_end)
        SELECT w.id, '{TRIAL_PLAN}', 'trialing', 'month', 'trial',
               now(), now() + interval '{TRIAL_DAYS} days', now() + interval '{TRIAL_DAYS} days'
        FROM workspaces w
        """
    )
    op.execute(
        f"""
        INSERT INTO credit_balances (workspace_id, allowance, period_start, period_end,
                                     period_granted)
        SELECT w.id, p.ai_credits, now(), now() + interval '{TRIAL_DAYS} days', p.ai_credits
        FROM workspaces w JOIN plans p ON p.code = '{TRIAL_PLAN}'
        """
    )
    op.execute(
        f"""
        INSERT INTO credit_ledger (id, workspace_id, kind, amount, operation_id, reason)
        SELECT gen_random_uuid(), w.id, 'grant', p.ai_credits, 'period:backfill', 'trial'
        FROM workspaces w JOIN plans p ON p.code = '{TRIAL_PLAN}'
        WHERE p.ai_credits > 0
        """
    )
    op.execute("ALTER TABLE workspaces FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    for table in TENANT_TABLES:
        disable_tenant_rls(table)
    for table in reversed(TENANT_TABLES):
        op.drop_table(table)
    op.drop_table("plans")
