"""A lead's search terms on its row: ``leads.search_terms`` lists, joined by spaces, the rows
the lead has in ``lead_search_terms`` (none while it is deleted). The term rows are rewritten
from it through the primary key, and a search probes a lead's words on the row it reads
anyway, so the second index of ``lead_search_terms``, ``(workspace_id, lead_id, term)``, goes:
it was about a sixth of writing a term row, and an import writes six a lead.

The backfill reads every tenant's rows, so it lifts the forced row-level security of the two
tables for its own transaction (the owner running migrations is subject to it otherwise, and
would see no rows).

Revision ID: 0046
Revises: 0045
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

_TABLES = ("leads", "lead_search_terms")


def upgrade() -> None:
    op.add_column(
        "leads", sa.Column("search_terms", sa.Text(), nullable=False, server_default=sa.text("''"))
    )
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(
        """
        UPDATE leads SET search_terms = t.terms
        FROM (SELECT workspace_id, lead_id, string_agg(term, ' ' ORDER BY term) AS terms
              FROM lead_search_terms GROUP BY workspace_id, lead_id) AS t
        WHERE leads.workspace_id = t.workspace_id AND leads.id = t.lead_id
        """
    )
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.drop_index("ix_lead_search_terms_workspace_id_lead_id", table_name="lead_search_terms")


def downgrade() -> None:
    op.create_index(
        "ix_lead_search_terms_workspace_id_lead_id",
        "lead_search_terms",
        ["workspace_id", "lead_id", "term"],
    )
    op.drop_column("leads", "search_terms")
