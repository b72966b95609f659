"""Alembic environment. Run through ``scaliyo migrate`` (adapters/persistence/migrate.py),
which hands over a live connection in ``config.attributes["connection"]``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from scaliyo.adapters.persistence.tables import metadata
from scaliyo.adapters.settings import OWNER_ROLE

connection = context.config.attributes["connection"]


def include_object(obj, name, type_, reflected, compare_to):
    # alembic's own bookkeeping table is not part of our model
    return not (type_ == "table" and name == "alembic_version")


owner_exists = connection.execute(
    text("SELECT pg_has_role(current_user, oid, 'SET') FROM pg_roles WHERE rolname = :r"),
    {"r": OWNER_ROLE},
).scalar()
if owner_exists:
    # Everything a migration creates belongs to the owner role, never to the login role.
    connection.execute(text(f"SET ROLE {OWNER_ROLE}"))

context.configure(
    connection=connection,
    target_metadata=metadata,
    include_object=include_object,
    compare_server_default=True,
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
