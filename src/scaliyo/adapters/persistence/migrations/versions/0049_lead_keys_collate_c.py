"""Leads' keys compare byte by byte (``COLLATE "C"``), as ``lead_search_terms.term`` does:
the identity keys ``email``, ``linkedin_url`` and ``name_key``, the list's ``sort_name``, and
``lead_tags.tag_key``.

They are normalised or folded text. The identity and tag keys are only compared for equality
(unique indexes, the import's probes, duplicate checks, tag filters), and equality of a
deterministic collation is byte equality anyway: no lead compares differently. ``sort_name``
orders the list: by code point now on every server, as the embedded server's ``C.UTF-8``
already did and as the tests expect, where a server in, say, ``en_US.UTF-8`` ordered folded
names by that locale's rules. Their indexes sorted them by the database's collation, and every
index insert and probe went through ``strcoll``. Inserting 300,000 rows into a table with three
such indexes: 2,372–2,732 ms under ``C.UTF-8``, 2,038–2,213 ms under ``"C"`` (a locale such as
``en_US.UTF-8`` costs more). The columns' type is unchanged, so no table is rewritten; their
indexes are rebuilt.

Revision ID: 0049
Revises: 0048
"""

from __future__ import annotations

from alembic import op

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None

_KEYS = {"leads": ("email", "linkedin_url", "name_key", "sort_name"), "lead_tags": ("tag_key",)}


def _collate(collation: str) -> None:
    for table, keys in _KEYS.items():
        changes = ", ".join(f"ALTER COLUMN {key} TYPE text COLLATE {collation}" for key in keys)
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade() -> None:
    _collate('"C"')


def downgrade() -> None:
    _collate('"default"')
