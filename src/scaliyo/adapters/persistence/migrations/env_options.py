"""Options shared by the Alembic environment and the schema-comparison test."""

from __future__ import annotations


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    # alembic's own bookkeeping table is not part of our model
    return not (type_ == "table" and name == "alembic_version")
