"""Identity: users, sessions, single-use auth tokens, memberships, invites, API keys, onboarding.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from scaliyo.adapters.persistence.migrations.rls import disable_tenant_rls, enable_tenant_rls

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TENANT_TABLES = ["memberships", "invites", "api_keys", "onboarding"]


def _uuid(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, postgresql.UUID(as_uuid=True), nullable=nullable)


def _tstz(name: str, *, nullable: bool = False, default_now: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.text("now()") if default_now else None,
    )


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=f"fk_{table}_workspace_id_workspaces",
        ondelete="CASCADE",
    )


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=f"fk_{table}_user_id_users", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "users",
        _uuid("id"),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("platform_role", sa.Text(), nullable=False, server_default=sa.text("'CLIENT'")),
        sa.Column("is_super_admin", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        _tstz("email_confirmed_at", nullable=True),
        _uuid("last_workspace_id", nullable=True),
        _tstz("created_at", default_now=True),
        _tstz("updated_at", default_now=True),
        sa.CheckConstraint(
            "platform_role IN ('CLIENT', 'ADMIN', 'GUEST')", name="ck_users_platform_role_known"
        ),
        sa.CheckConstraint(
            "NOT is_super_admin OR platform_role = 'ADMIN'", name="ck_users_super_admin_is_admin"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )

    op.create_table(
        "sessions",
        _uuid("id"),
        _uuid("user_id"),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("csrf_hash", sa.Text(), nullable=False),
        _uuid("current_workspace_id", nullable=True),
        _tstz("created_at", default_now=True),
        _tstz("last_seen_at", default_now=True),
        _tstz("expires_at"),
        _tstz("revoked_at", nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("ip", sa.Text(), nullable=True),
        _user_fk("sessions"),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])

    op.create_table(
        "auth_tokens",
        _uuid("id"),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        _uuid("user_id"),
        _tstz("created_at", default_now=True),
        _tstz("expires_at"),
        _tstz("used_at", nullable=True),
        sa.CheckConstraint(
            "kind IN ('email_confirmation', 'password_reset')", name="ck_auth_tokens_kind_known"
        ),
        _user_fk("auth_tokens"),
        sa.PrimaryKeyConstraint("id", name="pk_auth_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_auth_tokens_token_hash"),
    )
    op.create_index("ix_auth_tokens_user_id", "auth_tokens", ["user_id"])

    op.create_table(
        "memberships",
        _uuid("workspace_id"),
        _uuid("user_id"),
        sa.Column("role", sa.Text(), nullable=False),
        _tstz("created_at", default_now=True),
        sa.CheckConstraint(
            "role IN ('owner', 'admin', 'member', 'viewer')", name="ck_memberships_role_known"
        ),
        _workspace_fk("memberships"),
        _user_fk("memberships"),
        sa.PrimaryKeyConstraint("workspace_id", "user_id", name="pk_memberships"),
    )
    op.create_index("ix_memberships_user_id", "memberships", ["user_id"])

    op.create_table(
        "invites",
        _uuid("id"),
        _uuid("workspace_id"),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        _uuid("invited_by", nullable=True),
        _tstz("created_at", default_now=True),
        _tstz("expires_at"),
        _tstz("accepted_at", nullable=True),
        _tstz("revoked_at", nullable=True),
        sa.CheckConstraint("role IN ('admin', 'member', 'viewer')", name="ck_invites_role_known"),
        _workspace_fk("invites"),
        sa.PrimaryKeyConstraint("id", name="pk_invites"),
        sa.UniqueConstraint("token_hash", name="uq_invites_token_hash"),
    )
    op.create_index("ix_invites_workspace_id_email", "invites", ["workspace_id", "email"])

    op.create_table(
        "api_keys",
        _uuid("id"),
        _uuid("workspace_id"),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        _uuid("created_by"),
        _tstz("created_at", default_now=True),
        _tstz("last_used_at", nullable=True),
        _tstz("revoked_at", nullable=True),
        _workspace_fk("api_keys"),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_id", name="uq_api_keys_key_id"),
    )
    op.create_index("ix_api_keys_workspace_id_id", "api_keys", ["workspace_id", "id"])

    op.create_table(
        "onboarding",
        _uuid("workspace_id"),
        sa.Column("role", sa.Text(), nullable=True),
        sa.Column("team_size", sa.Text(), nullable=True),
        sa.Column("company_name", sa.Text(), nullable=True),
        sa.Column("website", sa.Text(), nullable=True),
        sa.Column("industry", sa.Text(), nullable=True),
        sa.Column("primary_goal", sa.Text(), nullable=True),
        _tstz("completed_at", nullable=True),
        _tstz("updated_at", default_now=True),
        _workspace_fk("onboarding"),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_onboarding"),
    )

    for table in TENANT_TABLES:
        enable_tenant_rls(table)


def downgrade() -> None:
    for table in TENANT_TABLES:
        disable_tenant_rls(table)
    for table in (
        "onboarding",
        "api_keys",
        "invites",
        "memberships",
        "auth_tokens",
        "sessions",
        "users",
    ):
        op.drop_table(table)
