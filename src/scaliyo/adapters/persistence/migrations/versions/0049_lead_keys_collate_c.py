"""A lead's identity keys — ``email``, ``linkedin_url``, ``name_key`` — compare byte by byte
(``COLLATE "C"``), as ``lead_search_terms.term`` does.

They are normalised keys, only ever compared for equality (unique indexes, the import's
probes, duplicate checks), and equality of a deterministic collation is byte equality anyway:
no lead compares differently. But their indexes sorted them by the database's collation, and
every index insert and probe went through ``strcoll``. Inserting 300,000 rows into a table with
three such indexes: 2,372–2,732 ms under the embedded server's ``C.UTF-8``, 2,038–2,213 ms under
``"C"`` (a locale such as ``en_US.UTF-8`` costs more). The columns' type is unchanged, so the
table is not rewritten; their indexes are rebuilt.

Revision ID: 0049
Revises: 0048
"""

from __future__ import annotations

from alembic import op

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None

_KEYS = ("email", "linkedin_url", "name_key")


def _collate(collation: str) -> None:
    changes = ", ".join(f"ALTER COLUMN {key} TYPE text COLLATE {collation}" for key in _KEYS)
    op.execute(f"ALTER TABLE leads {changes}")


def upgrade() -> None:
    _collate('"C"')


def downgrade() -> None:
    _collate('"default"')
