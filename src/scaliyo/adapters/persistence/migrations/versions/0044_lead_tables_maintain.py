"""``scaliyo_system`` may VACUUM and ANALYZE the lead tables: an import that wrote many leads has
them vacuumed and analyzed at its end (adapters/persistence/table_statistics.py). ``MAINTAIN``
exists from PostgreSQL 17; on an older server nothing is granted and the command skips the
tables with a warning.

Revision ID: 0044
Revises: 0043
"""

from __future__ import annotations

from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None

_TABLES = "leads, lead_search_terms, lead_tags"
_IF_SUPPORTED = """
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 170000 THEN
        EXECUTE '{statement}';
    END IF;
END
$$
"""


def upgrade() -> None:
    op.execute(_IF_SUPPORTED.format(statement=f"GRANT MAINTAIN ON {_TABLES} TO scaliyo_system"))


def downgrade() -> None:
    op.execute(_IF_SUPPORTED.format(statement=f"REVOKE MAINTAIN ON {_TABLES} FROM scaliyo_system"))
