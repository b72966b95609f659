"""Leads: pipeline stages, leads with their tag and search-term index tables, the ideal
customer profile, custom field definitions and segments, tenant tables under RLS. Every
workspace that exists already gets the default pipeline, as new ones do when they are created.

No GIN or trigram index: under row-level security PostgreSQL takes only leakproof operators as
index conditions, so tags and text search are B-tree tables (docs/decisions/0011).

Revision ID: 0030
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from scaliyo.adapters.persistence.migrations.rls import disable_tenant_rls, enable_tenant_rls

revision = "0030"
down_revision = "0020"
branch_labels = None
depends_on = None

TENANT_TABLES = [
    "pipeline_stages",
    "leads",
    "lead_tags",
    "lead_search_terms",
    "lead_icps",
    "lead_custom_fields",
    "lead_segments",
]
# The default pipeline as it was when this migration was written (domain/leads/pipeline.py).
DEFAULT_STAGES = (
    ("New", "#64748b"),
    ("Contacted", "#3b82f6"),
    ("Qualified", "#8b5cf6"),
    ("Proposal", "#f59e0b"),
    ("Won", "#22c55e"),
    ("Lost", "#ef4444"),
)
LIVE = sa.text("deleted_at IS NULL")


def _uuid(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, postgresql.UUID(as_uuid=True), nullable=nullable)


def _text(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _tstz(name: str, *, nullable: bool = False, default_now: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.text("now()") if default_now else None,
    )


def _texts(name: str) -> sa.Column:
    return sa.Column(
        name, postgresql.ARRAY(sa.Text()), nullable=False, server_default=sa.text("'{}'::text[]")
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
        "pipeline_stages",
        _uuid("workspace_id"),
        _uuid("id"),
        _text("name", nullable=False),
        _text("name_key", nullable=False),
        _text("color", nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _tstz("created_at", default_now=True),
        sa.CheckConstraint("color ~ '^#[0-9a-f]{6}$'", name="color_format"),
        sa.CheckConstraint("position >= 0", name="position_non_negative"),
        _workspace_fk("pipeline_stages"),
        sa.PrimaryKeyConstraint("workspace_id", "id", name="pk_pipeline_stages"),
        sa.UniqueConstraint(
            "workspace_id", "name_key", name="uq_pipeline_stages_workspace_id_name_key"
        ),
    )
    op.create_index(
        "ix_pipeline_stages_workspace_id_position",
        "pipeline_stages",
        ["workspace_id", "position"],
    )

    op.create_table(
        "leads",
        _uuid("id"),
        _uuid("workspace_id"),
        *(
            _text(name)
            for name in (
                "email",
                "first_name",
                "last_name",
                "title",
                "company",
                "company_domain",
                "website",
                "linkedin_url",
                "phone",
                "city",
                "country",
                "time_zone",
                "industry",
                "company_size",
                "seniority",
                "department",
            )
        ),
        sa.Column(
            "custom_fields",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'{}'::jsonb"),
        ),
        _text("source", nullable=False),
        _uuid("status"),
        _uuid("owner_id", nullable=True),
        _texts("tags"),
        _texts("tag_keys"),
        sa.Column("score", sa.SmallInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column(
            "score_reasons",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'[]'::jsonb"),
        ),
        _text("name_key"),
        _text("sort_name", nullable=False),
        _text("search_text", nullable=False),
        _tstz("created_at"),
        _tstz("updated_at"),
        _tstz("deleted_at", nullable=True),
        sa.CheckConstraint("source IN ('csv', 'apollo', 'manual', 'api')", name="source_known"),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name="score_range"),
        sa.CheckConstraint(
            "email IS NOT NULL OR linkedin_url IS NOT NULL OR name_key IS NOT NULL",
            name="has_identity",
        ),
        _workspace_fk("leads"),
        sa.ForeignKeyConstraint(
            ["workspace_id", "status"],
            ["pipeline_stages.workspace_id", "pipeline_stages.id"],
            name="fk_leads_status_pipeline_stages",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_leads"),
    )
    op.create_index(
        "ux_leads_workspace_id_email",
        "leads",
        ["workspace_id", "email"],
        unique=True,
        postgresql_where=sa.text("email IS NOT NULL"),
    )
    op.create_index(
        "ux_leads_workspace_id_linkedin_url",
        "leads",
        ["workspace_id", "linkedin_url"],
        unique=True,
        postgresql_where=sa.text("linkedin_url IS NOT NULL"),
    )
    op.create_index(
        "ix_leads_workspace_id_name_key",
        "leads",
        ["workspace_id", "name_key"],
        postgresql_where=sa.text("name_key IS NOT NULL"),
    )
    op.create_index(
        "ix_leads_workspace_id_status_created_at",
        "leads",
        ["workspace_id", "status", "created_at", "id"],
    )
    for name, columns in (
        ("id", ["id"]),
        ("created_at", ["created_at", "id"]),
        ("updated_at", ["updated_at", "id"]),
        ("score", ["score", "id"]),
        ("sort_name", ["sort_name", "id"]),
        ("owner_id", ["owner_id", "created_at", "id"]),
    ):
        op.create_index(
            f"ix_leads_live_workspace_id_{name}",
            "leads",
            ["workspace_id", *columns],
            postgresql_where=LIVE,
        )
    op.create_index(
        "ix_leads_deleted_workspace_id_deleted_at",
        "leads",
        ["workspace_id", "deleted_at", "id"],
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )

    op.create_table(
        "lead_tags",
        _uuid("workspace_id"),
        _text("tag_key", nullable=False),
        _uuid("lead_id"),
        _text("tag", nullable=False),
        _workspace_fk("lead_tags"),
        sa.PrimaryKeyConstraint("workspace_id", "tag_key", "lead_id", name="pk_lead_tags"),
    )
    op.create_index("ix_lead_tags_workspace_id_lead_id", "lead_tags", ["workspace_id", "lead_id"])
    op.create_table(
        "lead_search_terms",
        _uuid("workspace_id"),
        sa.Column("term", sa.Text(collation="C"), nullable=False),
        _uuid("lead_id"),
        _workspace_fk("lead_search_terms"),
        sa.PrimaryKeyConstraint("workspace_id", "term", "lead_id", name="pk_lead_search_terms"),
    )
    op.create_index(
        "ix_lead_search_terms_workspace_id_lead_id",
        "lead_search_terms",
        ["workspace_id", "lead_id", "term"],
    )

    op.create_table(
        "lead_icps",
        _uuid("workspace_id"),
        *(
            _texts(name)
            for name in (
                "seniorities",
                "titles",
                "departments",
                "industries",
                "company_sizes",
                "countries",
            )
        ),
        _tstz("updated_at", default_now=True),
        _workspace_fk("lead_icps"),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_lead_icps"),
    )

    op.create_table(
        "lead_custom_fields",
        _uuid("workspace_id"),
        _text("key", nullable=False),
        _text("label", nullable=False),
        _text("type", nullable=False),
        _texts("options"),
        sa.Column("position", sa.Integer(), nullable=False),
        _tstz("created_at", default_now=True),
        sa.CheckConstraint(
            "type IN ('text', 'number', 'date', 'boolean', 'single_select')",
            name="type_known",
        ),
        _workspace_fk("lead_custom_fields"),
        sa.PrimaryKeyConstraint("workspace_id", "key", name="pk_lead_custom_fields"),
    )

    op.create_table(
        "lead_segments",
        _uuid("id"),
        _uuid("workspace_id"),
        _text("name", nullable=False),
        _text("name_key", nullable=False),
        sa.Column(
            "filters", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        _uuid("created_by", nullable=True),
        _tstz("created_at"),
        _tstz("updated_at"),
        _workspace_fk("lead_segments"),
        sa.PrimaryKeyConstraint("id", name="pk_lead_segments"),
        sa.UniqueConstraint(
            "workspace_id", "name_key", name="uq_lead_segments_workspace_id_name_key"
        ),
    )
    op.create_index("ix_lead_segments_workspace_id_id", "lead_segments", ["workspace_id", "id"])

    _default_pipelines_for_existing_workspaces()

    for table in TENANT_TABLES:
        enable_tenant_rls(table)


def _default_pipelines_for_existing_workspaces() -> None:
    """Workspaces made before leads existed get the default pipeline now, as new ones do at
    creation. ``workspaces`` forces row-level security even on its owner; it is lifted for this
    statement only, inside this migration's transaction (the new table gets its RLS after)."""
    op.execute("ALTER TABLE workspaces NO FORCE ROW LEVEL SECURITY")
    values = ", ".join(
        f"('{name}', '{name.lower()}', '{color}', {position})"
        for position, (name, color) in enumerate(DEFAULT_STAGES)
    )
    op.execute(
        f"""
        INSERT INTO pipeline_stages (workspace_id, id, name, name_key, color, position)
        SELECT w.id, gen_random_uuid(), s.name, s.name_key, s.color, s.position
        FROM workspaces w CROSS JOIN (VALUES {values}) AS s (name, name_key, color, position)
        ON CONFLICT DO NOTHING
        """
    )
    op.execute("ALTER TABLE workspaces FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    for table in TENANT_TABLES:
        disable_tenant_rls(table)
    for table in reversed(TENANT_TABLES):
        op.drop_table(table)
