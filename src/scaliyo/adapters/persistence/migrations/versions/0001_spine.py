"""Spine: the three roles, grants, and the first tables (workspaces, jobs, audit_log, outbox,
inbox, rate_limit_events) with row-level security.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from scaliyo.adapters.persistence.migrations.rls import disable_tenant_rls, enable_tenant_rls

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ROLES = {
    "scaliyo_owner": "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE",
    "scaliyo_app": "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE",
    "scaliyo_system": "LOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE",
}
TENANT_TABLES = ["jobs", "audit_log", "outbox", "inbox"]


def _tstz(name: str, *, nullable: bool = False, default_now: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.text("now()") if default_now else None,
    )


def upgrade() -> None:
    # env.py runs migrations as scaliyo_owner once it exists; creating roles and granting on the
    # schema needs the login role (the bootstrap superuser or a CREATEROLE login).
    op.execute("RESET ROLE")
    # Roles are cluster-wide: create them once, and (re)state their attributes every time.
    for role, attributes in ROLES.items():
        op.execute(
            f"DO $$ BEGIN "
            f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE {role} {attributes}; END IF; END $$"
        )
        op.execute(f"ALTER ROLE {role} {attributes}")
    op.execute("GRANT scaliyo_owner TO CURRENT_USER")
    op.execute("GRANT USAGE, CREATE ON SCHEMA public TO scaliyo_owner")
    op.execute("GRANT USAGE ON SCHEMA public TO scaliyo_app, scaliyo_system")
    op.execute("ALTER TABLE alembic_version OWNER TO scaliyo_owner")
    # /readyz compares the revision with head as scaliyo_app (read-only; it owns nothing).
    op.execute("GRANT SELECT ON alembic_version TO scaliyo_app, scaliyo_system")
    op.execute("SET ROLE scaliyo_owner")
    for grantee in ("scaliyo_app", "scaliyo_system"):
        op.execute(
            "ALTER DEFAULT PRIVILEGES FOR ROLE scaliyo_owner IN SCHEMA public "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {grantee}"
        )
        op.execute(
            "ALTER DEFAULT PRIVILEGES FOR ROLE scaliyo_owner IN SCHEMA public "
            f"GRANT USAGE, SELECT ON SEQUENCES TO {grantee}"
        )

    op.create_table(
        "workspaces",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        _tstz("created_at", default_now=True),
        sa.PrimaryKeyConstraint("id", name="pk_workspaces"),
    )
    enable_tenant_rls("workspaces", column="id")

    op.create_table(
        "jobs",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("workspace_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "params", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.Column("processed", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("result", postgresql.JSONB(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("tokens", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("max_attempts", sa.Integer(), nullable=False, server_default=sa.text("5")),
        _tstz("locked_until", nullable=True),
        _tstz("run_after", nullable=True),
        _tstz("created_at", default_now=True),
        _tstz("updated_at", default_now=True),
        _tstz("started_at", nullable=True),
        _tstz("finished_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'processing', 'completed', 'failed')",
            name="ck_jobs_status_known",
        ),
        sa.CheckConstraint(
            "processed >= 0 AND (total IS NULL OR processed <= total)", name="ck_jobs_progress"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_jobs_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_workspace_id_id", "jobs", ["workspace_id", "id"])
    op.create_index(
        "ix_jobs_unfinished_locked_until",
        "jobs",
        ["locked_until"],
        postgresql_where=sa.text("status IN ('queued', 'processing')"),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        _tstz("at", default_now=True),
        sa.Column("workspace_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("ip", sa.Text(), nullable=True),
        sa.Column(
            "details", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_workspace_id_at", "audit_log", ["workspace_id", "at"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])

    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("workspace_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("aggregate_type", sa.Text(), nullable=False),
        sa.Column("aggregate_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("message_type", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        _tstz("created_at", default_now=True),
        _tstz("sent_at", nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_outbox"),
        sa.UniqueConstraint("id", name="uq_outbox_id"),
    )
    op.create_index("ix_outbox_workspace_id_seq", "outbox", ["workspace_id", "seq"])
    op.create_index(
        "ix_outbox_unsent_seq", "outbox", ["seq"], postgresql_where=sa.text("sent_at IS NULL")
    )
    op.create_index(
        "ix_outbox_sent_at",
        "outbox",
        ["sent_at"],
        postgresql_where=sa.text("sent_at IS NOT NULL"),
    )

    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("message_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("workspace_id", postgresql.UUID(as_uuid=True), nullable=True),
        _tstz("processed_at", default_now=True),
        sa.PrimaryKeyConstraint("consumer", "message_id", name="pk_inbox"),
    )
    op.create_index("ix_inbox_workspace_id_processed_at", "inbox", ["workspace_id", "processed_at"])
    op.create_index("ix_inbox_processed_at", "inbox", ["processed_at"])

    op.create_table(
        "rate_limit_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("bucket", sa.Text(), nullable=False),
        _tstz("at", default_now=True),
        sa.Column("ref", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rate_limit_events"),
    )
    op.create_index("ix_rate_limit_events_bucket_at", "rate_limit_events", ["bucket", "at"])
    # Platform table: the request role never touches it.
    op.execute("REVOKE ALL ON rate_limit_events FROM scaliyo_app")

    for table in TENANT_TABLES:
        enable_tenant_rls(table)


def downgrade() -> None:
    for table in [*TENANT_TABLES, "workspaces"]:
        disable_tenant_rls(table)
    for table in ("rate_limit_events", "inbox", "outbox", "audit_log", "jobs", "workspaces"):
        op.drop_table(table)
    for grantee in ("scaliyo_app", "scaliyo_system"):
        op.execute(
            "ALTER DEFAULT PRIVILEGES FOR ROLE scaliyo_owner IN SCHEMA public "
            f"REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {grantee}"
        )
        op.execute(
            "ALTER DEFAULT PRIVILEGES FOR ROLE scaliyo_owner IN SCHEMA public "
            f"REVOKE USAGE, SELECT ON SEQUENCES FROM {grantee}"
        )
    op.execute("REVOKE SELECT ON alembic_version FROM scaliyo_app, scaliyo_system")
    op.execute("RESET ROLE")
    op.execute("REVOKE USAGE ON SCHEMA public FROM scaliyo_app, scaliyo_system")
    op.execute("REVOKE USAGE, CREATE ON SCHEMA public FROM scaliyo_owner")
    # The roles themselves stay: they are cluster-wide and other databases may use them.
