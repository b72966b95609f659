"""SQLAlchemy Core tables: the schema as the migrations build it.

Tenant tables carry ``workspace_id``, an index that starts with it, and row-level security
(enabled and forced; see ``migrations/rls.py``). A test compares this metadata with the migrated
schema, so a table changes here and in a migration together.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_N_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _tstz(name: str, *, nullable: bool = False, default_now: bool = False) -> Column:
    return Column(
        name,
        DateTime(timezone=True),
        nullable=nullable,
        server_default=text("now()") if default_now else None,
    )


workspaces = Table(
    "workspaces",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    _tstz("created_at", default_now=True),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("queue", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("params", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("processed", BigInteger, nullable=False, server_default=text("0")),
    Column("total", BigInteger, nullable=True),
    Column("result", JSONB, nullable=True),
    Column("error", Text, nullable=True),
    Column("tokens", BigInteger, nullable=False, server_default=text("0")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("max_attempts", Integer, nullable=False, server_default=text("5")),
    _tstz("locked_until", nullable=True),
    _tstz("run_after", nullable=True),
    _tstz("created_at", default_now=True),
    _tstz("updated_at", default_now=True),
    _tstz("started_at", nullable=True),
    _tstz("finished_at", nullable=True),
    CheckConstraint(
        "status IN ('queued', 'processing', 'completed', 'failed')", name="status_known"
    ),
    CheckConstraint("processed >= 0 AND (total IS NULL OR processed <= total)", name="progress"),
    Index("ix_jobs_workspace_id_id", "workspace_id", "id"),
    Index(
        "ix_jobs_unfinished_locked_until",
        "locked_until",
        postgresql_where=text("status IN ('queued', 'processing')"),
    ),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    _tstz("at", default_now=True),
    Column("workspace_id", UUID(as_uuid=True), nullable=True),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("target", Text, nullable=True),
    Column("ip", Text, nullable=True),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("ix_audit_log_workspace_id_at", "workspace_id", "at"),
    Index("ix_audit_log_at", "at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("seq", BigInteger, Identity(always=True), primary_key=True),
    Column("id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("workspace_id", UUID(as_uuid=True), nullable=True),
    Column("subject", Text, nullable=False),
    Column("aggregate_type", Text, nullable=False),
    Column("aggregate_id", UUID(as_uuid=True), nullable=False),
    Column("message_type", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("payload", JSONB, nullable=False),
    _tstz("created_at", default_now=True),
    _tstz("sent_at", nullable=True),
    _tstz("dead_at", nullable=True),  # never publishable (see ``dead_reason``): set aside
    Column("dead_reason", Text, nullable=True),
    Index("ix_outbox_workspace_id_seq", "workspace_id", "seq"),
    Index(
        "ix_outbox_unsent_seq", "seq", postgresql_where=text("sent_at IS NULL AND dead_at IS NULL")
    ),
    Index("ix_outbox_sent_at", "sent_at", postgresql_where=text("sent_at IS NOT NULL")),
    Index("ix_outbox_dead_at", "dead_at", postgresql_where=text("dead_at IS NOT NULL")),
)

inbox = Table(
    "inbox",
    metadata,
    Column("consumer", Text, primary_key=True),
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("workspace_id", UUID(as_uuid=True), nullable=True),
    _tstz("processed_at", default_now=True),
    Index("ix_inbox_workspace_id_processed_at", "workspace_id", "processed_at"),
    Index("ix_inbox_processed_at", "processed_at"),
)

# Platform table (no tenant): starts of rate-limited work, one row per start, for a sliding
# window that holds across processes.
rate_limit_events = Table(
    "rate_limit_events",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("bucket", Text, nullable=False),
    _tstz("at", default_now=True),
    Column("ref", Text, nullable=True),
    Index("ix_rate_limit_events_bucket_at", "bucket", "at"),
)

# --- identity -------------------------------------------------------------------------------
# Users and sessions belong to no workspace (DESIGN.md): no tenant policy. Before a tenant is
# known they are read only through platform paths (scaliyo_system).

users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("email", Text, nullable=False, unique=True),
    Column("password_hash", Text, nullable=True),
    Column("platform_role", Text, nullable=False, server_default=text("'CLIENT'")),
    Column("is_super_admin", Boolean, nullable=False, server_default=text("false")),
    _tstz("email_confirmed_at", nullable=True),
    Column("last_workspace_id", UUID(as_uuid=True), nullable=True),
    _tstz("created_at", default_now=True),
    _tstz("updated_at", default_now=True),
    CheckConstraint("platform_role IN ('CLIENT', 'ADMIN', 'GUEST')", name="platform_role_known"),
    CheckConstraint("NOT is_super_admin OR platform_role = 'ADMIN'", name="super_admin_is_admin"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("csrf_hash", Text, nullable=False),
    Column("current_workspace_id", UUID(as_uuid=True), nullable=True),
    _tstz("created_at", default_now=True),
    _tstz("last_seen_at", default_now=True),
    _tstz("expires_at"),
    _tstz("revoked_at", nullable=True),
    Column("user_agent", Text, nullable=True),
    Column("ip", Text, nullable=True),
    Index("ix_sessions_user_id", "user_id"),
)

# Single-use tokens mailed to a user: email confirmation and password reset. Only a hash is kept.
auth_tokens = Table(
    "auth_tokens",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("token_hash", Text, nullable=False, unique=True),
    Column(
        "user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    _tstz("created_at", default_now=True),
    _tstz("expires_at"),
    _tstz("used_at", nullable=True),
    CheckConstraint("kind IN ('email_confirmation', 'password_reset')", name="kind_known"),
    Index("ix_auth_tokens_user_id", "user_id"),
)

memberships = Table(
    "memberships",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("role", Text, nullable=False),
    _tstz("created_at", default_now=True),
    CheckConstraint("role IN ('owner', 'admin', 'member', 'viewer')", name="role_known"),
    Index("ix_memberships_user_id", "user_id"),
)

invites = Table(
    "invites",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("email", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("invited_by", UUID(as_uuid=True), nullable=True),
    _tstz("created_at", default_now=True),
    _tstz("expires_at"),
    _tstz("accepted_at", nullable=True),
    _tstz("revoked_at", nullable=True),
    CheckConstraint("role IN ('admin', 'member', 'viewer')", name="role_known"),
    Index("ix_invites_workspace_id_email", "workspace_id", "email"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("key_id", Text, nullable=False, unique=True),
    Column("secret_hash", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("created_by", UUID(as_uuid=True), nullable=False),
    _tstz("created_at", default_now=True),
    _tstz("last_used_at", nullable=True),
    _tstz("revoked_at", nullable=True),
    Index("ix_api_keys_workspace_id_id", "workspace_id", "id"),
)

onboarding = Table(
    "onboarding",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("role", Text, nullable=True),
    Column("team_size", Text, nullable=True),
    Column("company_name", Text, nullable=True),
    Column("website", Text, nullable=True),
    Column("industry", Text, nullable=True),
    Column("primary_goal", Text, nullable=True),
    _tstz("completed_at", nullable=True),
    _tstz("updated_at", default_now=True),
)

# --- billing and credits --------------------------------------------------------------------
# Plans are platform data: every workspace reads them (scaliyo_app may only SELECT), operators
# and the admin console write them. Seeded by migration 0010 where absent.

plans = Table(
    "plans",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("currency", Text, nullable=False, server_default=text("'usd'")),
    Column("monthly_price_cents", BigInteger, nullable=False),
    Column("ai_credits", BigInteger, nullable=False),
    Column("contacts", BigInteger, nullable=True),
    Column("emails_per_month", BigInteger, nullable=True),
    Column("emails_per_day", BigInteger, nullable=True),
    Column("seats", Integer, nullable=True),
    Column("storage_mb", BigInteger, nullable=True),
    Column("linkedin_actions_per_day", BigInteger, nullable=True),
    Column("linkedin_actions_per_month", BigInteger, nullable=True),
    Column("features", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("public", Boolean, nullable=False, server_default=text("true")),
    Column("sort_order", Integer, nullable=False, server_default=text("0")),
    Column("stripe_price_monthly", Text, nullable=True),
    Column("stripe_price_annual", Text, nullable=True),
    _tstz("created_at", default_now=True),
    _tstz("updated_at", default_now=True),
    CheckConstraint("code ~ '^[a-z][a-z0-9_-]{1,39}$'", name="code_format"),
    CheckConstraint(
        "monthly_price_cents >= 0 AND ai_credits >= 0 AND coalesce(contacts, 0) >= 0 "
        "AND coalesce(emails_per_month, 0) >= 0 AND coalesce(emails_per_day, 0) >= 0 "
        "AND coalesce(seats, 0) >= 0 AND coalesce(storage_mb, 0) >= 0 "
        "AND coalesce(linkedin_actions_per_day, 0) >= 0 "
        "AND coalesce(linkedin_actions_per_month, 0) >= 0",
        name="non_negative",
    ),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("plan_code", Text, ForeignKey("plans.code"), nullable=False),
    Column("status", Text, nullable=False),
    Column("interval", Text, nullable=False),
    Column("source", Text, nullable=False),
    _tstz("current_period_start"),
    _tstz("current_period_end"),
    _tstz("trial_end", nullable=True),
    Column("cancel_at_period_end", Boolean, nullable=False, server_default=text("false")),
    Column("pending_plan_code", Text, ForeignKey("plans.code"), nullable=True),
    Column("extra_seats", Integer, nullable=False, server_default=text("0")),
    _tstz("ended_at", nullable=True),
    Column("ended_reason", Text, nullable=True),
    _tstz("created_at", default_now=True),
    _tstz("updated_at", default_now=True),
    # When a past-due subscription fell past due: its grace period runs from here (0020).
    _tstz("past_due_since", nullable=True),
    CheckConstraint("status = 'past_due' OR past_due_since IS NULL", name="grace_only_past_due"),
    CheckConstraint(
        "status IN ('trialing', 'active', 'past_due', 'canceled', 'incomplete')",
        name="status_known",
    ),
    CheckConstraint("interval IN ('month', 'year')", name="interval_known"),
    CheckConstraint("source IN ('trial', 'operator', 'stripe')", name="source_known"),
    CheckConstraint("current_period_end > current_period_start", name="period_order"),
    CheckConstraint("status <> 'trialing' OR trial_end IS NOT NULL", name="trial_has_end"),
    CheckConstraint("extra_seats >= 0", name="extra_seats_non_negative"),
    Index("ix_subscriptions_trial_end", "trial_end", postgresql_where=text("status = 'trialing'")),
)

# One row per workspace: the buckets of the credit ledger. available = allowance + purchased -
# reserved, and the CHECK below makes PostgreSQL itself refuse anything that would take it
# below zero.
credit_balances = Table(
    "credit_balances",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("allowance", BigInteger, nullable=False, server_default=text("0")),
    Column("purchased", BigInteger, nullable=False, server_default=text("0")),
    Column("reserved", BigInteger, nullable=False, server_default=text("0")),
    _tstz("period_start", nullable=True),
    _tstz("period_end", nullable=True),
    Column("period_granted", BigInteger, nullable=False, server_default=text("0")),
    Column("period_spent", BigInteger, nullable=False, server_default=text("0")),
    _tstz("updated_at", default_now=True),
    CheckConstraint(
        "allowance >= 0 AND purchased >= 0 AND reserved >= 0 AND period_granted >= 0 "
        "AND period_spent >= 0",
        name="buckets_non_negative",
    ),
    CheckConstraint("allowance + purchased >= reserved", name="available_non_negative"),
)

credit_reservations = Table(
    "credit_reservations",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("operation_id", Text, nullable=False),
    Column("operation", Text, nullable=False),
    Column("credits", BigInteger, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'open'")),
    Column("charged", BigInteger, nullable=True),
    Column("tokens", BigInteger, nullable=True),
    _tstz("created_at", default_now=True),
    _tstz("expires_at"),
    _tstz("closed_at", nullable=True),
    CheckConstraint("credits > 0", name="credits_positive"),
    CheckConstraint("status IN ('open', 'settled', 'released', 'expired')", name="status_known"),
    CheckConstraint(
        "charged IS NULL OR (charged >= 0 AND charged <= credits)",
        name="charge_within_reservation",
    ),
    UniqueConstraint("workspace_id", "operation_id"),
    Index(
        "ix_credit_reservations_open_expires_at",
        "expires_at",
        postgresql_where=text("status = 'open'"),
    ),
)

credit_ledger = Table(
    "credit_ledger",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("operation_id", Text, nullable=False),
    Column("operation", Text, nullable=True),
    Column("reservation_id", UUID(as_uuid=True), nullable=True),
    Column("tokens", BigInteger, nullable=True),
    Column("reason", Text, nullable=True),
    Column("actor", Text, nullable=True),
    _tstz("at", default_now=True),
    CheckConstraint(
        "kind IN ('grant', 'top_up', 'expire', 'purchase', 'manual_grant', 'charge')",
        name="kind_known",
    ),
    CheckConstraint("(kind IN ('expire', 'charge')) = (amount < 0) AND amount <> 0", name="sign"),
    UniqueConstraint("workspace_id", "kind", "operation_id"),
    Index("ix_credit_ledger_workspace_id_id", "workspace_id", "id"),
)

# Counters keyed by period (``total``, a day ``2026-11-30`` or a month ``2026-11``): a new
# period is a new row, so nothing needs resetting; old rows are purged.
usage_counters = Table(
    "usage_counters",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("metric", Text, primary_key=True),
    Column("subject", Text, primary_key=True, server_default=text("''")),
    Column("period", Text, primary_key=True),
    Column("used", BigInteger, nullable=False, server_default=text("0")),
    Column("last_limit", BigInteger, nullable=True),
    _tstz("updated_at", default_now=True),
    CheckConstraint("used >= 0", name="used_non_negative"),
    Index("ix_usage_counters_updated_at", "updated_at"),
)

# Idempotency-Key records of creating and charging POSTs, kept 24 h per workspace.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", Text, primary_key=True),
    Column("fingerprint", Text, nullable=False),
    Column("status", Integer, nullable=True),
    Column("response", JSONB, nullable=True),
    _tstz("created_at", default_now=True),
    _tstz("completed_at", nullable=True),
    Index("ix_idempotency_keys_created_at", "created_at"),
)

# A workspace's customer at each payment provider, and the provider subscription it follows.
# Webhooks find the workspace of a customer through the platform routing path (scaliyo_system).
payment_accounts = Table(
    "payment_accounts",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("provider", Text, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("subscription_id", Text, nullable=True),
    _tstz("created_at", default_now=True),
    _tstz("updated_at", default_now=True),
    CheckConstraint("provider ~ '^[a-z][a-z0-9_]{1,31}$'", name="provider_format"),
    UniqueConstraint("provider", "customer_id"),
)

# Provider events applied, one row per event id, written first in the effect's transaction.
payment_events = Table(
    "payment_events",
    metadata,
    Column("provider", Text, primary_key=True),
    Column("event_id", Text, primary_key=True),
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("type", Text, nullable=False),
    _tstz("received_at", default_now=True),
    Index("ix_payment_events_workspace_id_received_at", "workspace_id", "received_at"),
)

# --- leads ----------------------------------------------------------------------------------
# Migration 0030. Every index starts with ``workspace_id``; list indexes are partial on live
# leads. ``name_key``, ``sort_name``, ``search_text`` and ``tag_keys`` are derived by the
# repository (``lead_repository.lead_values``) with the domain's folding, so search and sort are
# case- and accent-insensitive. Tag and text filters of live leads go through ``lead_tags`` and
# ``lead_search_terms`` (B-tree, equality and ranges): under row-level security PostgreSQL uses
# only leakproof operators as index conditions, and ``@>``, ``LIKE`` and ``@@`` are not
# (docs/decisions/0011-lead-storage-and-search.md).

pipeline_stages = Table(
    "pipeline_stages",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("name_key", Text, nullable=False),
    Column("color", Text, nullable=False),
    Column("position", Integer, nullable=False),
    _tstz("created_at", default_now=True),
    CheckConstraint("color ~ '^#[0-9a-f]{6}$'", name="color_format"),
    CheckConstraint("position >= 0", name="position_non_negative"),
    UniqueConstraint("workspace_id", "name_key"),
    Index("ix_pipeline_stages_workspace_id_position", "workspace_id", "position"),
)

leads = Table(
    "leads",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # identity keys and sort_name compare byte by byte (migration 0049)
    Column("email", Text(collation="C"), nullable=True),
    Column("first_name", Text, nullable=True),
    Column("last_name", Text, nullable=True),
    Column("title", Text, nullable=True),
    Column("company", Text, nullable=True),
    Column("company_domain", Text, nullable=True),
    Column("website", Text, nullable=True),
    Column("linkedin_url", Text(collation="C"), nullable=True),
    Column("phone", Text, nullable=True),
    Column("city", Text, nullable=True),
    Column("country", Text, nullable=True),
    Column("time_zone", Text, nullable=True),
    Column("industry", Text, nullable=True),
    Column("company_size", Text, nullable=True),
    Column("seniority", Text, nullable=True),
    Column("department", Text, nullable=True),
    Column("custom_fields", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("source", Text, nullable=False),
    Column("status", UUID(as_uuid=True), nullable=False),
    Column("owner_id", UUID(as_uuid=True), nullable=True),
    Column("tags", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("tag_keys", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("score", SmallInteger, nullable=False, server_default=text("0")),
    Column("score_reasons", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("name_key", Text(collation="C"), nullable=True),
    Column("sort_name", Text(collation="C"), nullable=False),
    Column("search_text", Text, nullable=False),
    # The lead's rows of ``lead_search_terms``, joined by spaces ("" while deleted).
    Column("search_terms", Text, nullable=False, server_default=text("''")),
    # The import that made the lead (created it, or restored it from the trash), if one did.
    Column("import_id", UUID(as_uuid=True), nullable=True),
    _tstz("created_at"),
    _tstz("updated_at"),
    _tstz("deleted_at", nullable=True),
    CheckConstraint("source IN ('csv', 'apollo', 'manual', 'api')", name="source_known"),
    CheckConstraint("score BETWEEN 0 AND 100", name="score_range"),
    CheckConstraint(
        "email IS NOT NULL OR linkedin_url IS NOT NULL OR name_key IS NOT NULL",
        name="has_identity",
    ),
    ForeignKeyConstraint(
        ["workspace_id", "status"],
        ["pipeline_stages.workspace_id", "pipeline_stages.id"],
        name="fk_leads_status_pipeline_stages",
    ),
    # Identity keys cover deleted leads too: a lead matching a deleted one restores it.
    Index(
        "ux_leads_workspace_id_email",
        "workspace_id",
        "email",
        unique=True,
        postgresql_where=text("email IS NOT NULL"),
    ),
    Index(
        "ux_leads_workspace_id_linkedin_url",
        "workspace_id",
        "linkedin_url",
        unique=True,
        postgresql_where=text("linkedin_url IS NOT NULL"),
    ),
    Index(
        "ix_leads_workspace_id_name_key",
        "workspace_id",
        "name_key",
        postgresql_where=text("name_key IS NOT NULL"),
    ),
    # Also the foreign key's index: moving a deleted stage's leads, deleted ones included.
    Index("ix_leads_workspace_id_status_created_at", "workspace_id", "status", "created_at", "id"),
    Index(
        "ix_leads_live_workspace_id_import_id",
        "workspace_id",
        "import_id",
        "created_at",
        "id",
        postgresql_where=text("deleted_at IS NULL AND import_id IS NOT NULL"),
    ),
    Index(
        "ix_leads_live_workspace_id_id",
        "workspace_id",
        "id",
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index(
        "ix_leads_live_workspace_id_created_at",
        "workspace_id",
        "created_at",
        "id",
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index(
        "ix_leads_live_workspace_id_updated_at",
        "workspace_id",
        "updated_at",
        "id",
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index(
        "ix_leads_live_workspace_id_score",
        "workspace_id",
        "score",
        "id",
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index(
        "ix_leads_live_workspace_id_sort_name",
        "workspace_id",
        "sort_name",
        "id",
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index(
        "ix_leads_live_workspace_id_owner_id",
        "workspace_id",
        "owner_id",
        "created_at",
        "id",
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index(
        "ix_leads_deleted_workspace_id_deleted_at",
        "workspace_id",
        "deleted_at",
        "id",
        postgresql_where=text("deleted_at IS NOT NULL"),
    ),
)

# The tags of live leads, one row per lead and tag (a soft-deleted lead has none). Like
# ``lead_search_terms``, no foreign key (checked per row): a trigger on ``workspaces`` deletes
# them with their workspace (migration 0043).
lead_tags = Table(
    "lead_tags",
    metadata,
    Column("workspace_id", UUID(as_uuid=True), primary_key=True),
    Column("tag_key", Text(collation="C"), primary_key=True),  # byte order (migration 0049)
    Column("lead_id", UUID(as_uuid=True), primary_key=True),
    Column("tag", Text, nullable=False),
    Index("ix_lead_tags_workspace_id_lead_id", "workspace_id", "lead_id"),
)

# The words of live leads' names, emails and companies (folded), for word-prefix search. A
# lead's rows are those its ``leads.search_terms`` lists: they are found through the primary
# key, and a lead is probed for a word on its own row (migration 0046).
lead_search_terms = Table(
    "lead_search_terms",
    metadata,
    Column("workspace_id", UUID(as_uuid=True), primary_key=True),
    Column("term", Text(collation="C"), primary_key=True),
    Column("lead_id", UUID(as_uuid=True), primary_key=True),
)

# The ideal customer profile: one row per workspace (absent: defaulted from onboarding).
lead_icps = Table(
    "lead_icps",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("seniorities", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("titles", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("departments", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("industries", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("company_sizes", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("countries", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    _tstz("updated_at", default_now=True),
)

lead_custom_fields = Table(
    "lead_custom_fields",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", Text, primary_key=True),
    Column("label", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("options", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("position", Integer, nullable=False),
    _tstz("created_at", default_now=True),
    CheckConstraint(
        "type IN ('text', 'number', 'date', 'boolean', 'single_select')", name="type_known"
    ),
)

lead_segments = Table(
    "lead_segments",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", Text, nullable=False),
    Column("name_key", Text, nullable=False),
    Column("filters", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_by", UUID(as_uuid=True), nullable=True),
    _tstz("created_at"),
    _tstz("updated_at"),
    UniqueConstraint("workspace_id", "name_key"),
    Index("ix_lead_segments_workspace_id_id", "workspace_id", "id"),
)

# --- lead imports (migration 0040) -----------------------------------------------------------
# An upload is a CSV file in blob storage with what was detected about it; an import applies a
# mapping to an upload's rows in a ``bulk_import`` job. ``rows_done`` and the counts are written
# in each chunk's transaction: they are the point a redelivered job resumes from.

lead_uploads = Table(
    "lead_uploads",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("blob_key", Text, nullable=False),
    Column("filename", Text, nullable=True),
    Column("size", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("encoding", Text, nullable=False),
    Column("delimiter", Text, nullable=False),
    Column("has_header", Boolean, nullable=False),
    Column("columns", ARRAY(Text), nullable=False),
    Column("mapping", JSONB, nullable=False),
    Column("row_estimate", BigInteger, nullable=False),
    Column("created_by", UUID(as_uuid=True), nullable=True),
    _tstz("created_at"),
    # Expired: no import may start from it; its file is deleted next (migrations 0041, 0045).
    _tstz("purged_at", nullable=True),
    _tstz("file_deleted_at", nullable=True),  # the file is gone from blob storage
    Index("ix_lead_uploads_workspace_id_id", "workspace_id", "id"),
    Index(
        "ix_lead_uploads_workspace_id_created_at",
        "workspace_id",
        "created_at",
        postgresql_where=text("purged_at IS NULL"),
    ),
    Index(
        "ix_lead_uploads_workspace_id_purged_at",
        "workspace_id",
        "purged_at",
        postgresql_where=text("purged_at IS NOT NULL AND file_deleted_at IS NULL"),
    ),
)

lead_imports = Table(
    "lead_imports",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("upload_id", UUID(as_uuid=True), nullable=False),
    Column("job_id", UUID(as_uuid=True), nullable=True),
    Column("status", Text, nullable=False),
    Column("mapping", JSONB, nullable=False),
    Column("duplicate_policy", Text, nullable=False),
    Column("tags", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("chunk_rows", Integer, nullable=False),
    Column("total_rows", BigInteger, nullable=True),
    Column("rows_done", BigInteger, nullable=False, server_default=text("0")),
    Column("created", BigInteger, nullable=False, server_default=text("0")),
    Column("updated", BigInteger, nullable=False, server_default=text("0")),
    Column("duplicates", BigInteger, nullable=False, server_default=text("0")),
    Column("invalid", BigInteger, nullable=False, server_default=text("0")),
    Column("limit_reached", BigInteger, nullable=False, server_default=text("0")),
    Column("error", Text, nullable=True),
    Column("created_by", UUID(as_uuid=True), nullable=True),
    _tstz("created_at"),
    _tstz("started_at", nullable=True),
    _tstz("finished_at", nullable=True),
    _tstz("cancel_requested_at", nullable=True),
    CheckConstraint(
        "status IN ('queued', 'running', 'completed', 'failed', 'cancelled')", name="status_known"
    ),
    CheckConstraint("duplicate_policy IN ('skip', 'fill_empty', 'overwrite')", name="policy_known"),
    ForeignKeyConstraint(
        ["upload_id"],
        ["lead_uploads.id"],
        name="fk_lead_imports_upload_id_lead_uploads",
        ondelete="CASCADE",
    ),
    Index("ix_lead_imports_workspace_id_id", "workspace_id", "id"),
    Index("ix_lead_imports_upload_id", "upload_id"),
)

# Every row of an import that was not created or updated, with why (one row per problem).
lead_import_errors = Table(
    "lead_import_errors",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "import_id",
        UUID(as_uuid=True),
        ForeignKey("lead_imports.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("row", BigInteger, primary_key=True),
    Column("seq", SmallInteger, primary_key=True),
    Column("column", Text, nullable=True),
    Column("code", Text, nullable=False),
    Column("message", Text, nullable=False),
)

lead_import_matches = Table(
    "lead_import_matches",
    metadata,
    Column(
        "workspace_id",
        UUID(as_uuid=True),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "import_id",
        UUID(as_uuid=True),
        ForeignKey("lead_imports.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("lead_id", UUID(as_uuid=True), primary_key=True),
    Column("row", BigInteger, nullable=False),
)

# Tables without a ``workspace_id`` column that are tenant-owned all the same (policy on ``id``).
TENANT_ROOT_TABLES = {"workspaces": "id"}
# Tables that belong to no tenant, read and written only by platform paths.
PLATFORM_TABLES = {"rate_limit_events", "plans"}
# Tables of users, who belong to no workspace (no tenant policy; see DESIGN.md).
USER_TABLES = {"users", "sessions", "auth_tokens"}
