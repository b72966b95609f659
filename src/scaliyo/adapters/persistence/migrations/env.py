"""Alembic environment. Run through ``scaliyo migrate`` (adapters/persistence/migrate.py),
which hands over a live connection in ``config.attributes["connection"]``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from scaliyo.adapters.persistence.migrations.env_options import include_object
from scaliyo.adapters.persistence.tables import metadata
from scaliyo.adapters.settings import OWNER_ROLE

connection = context.config.attributes["connection"]


# Once the first migration has set this database up, everything a migration creates belongs to
# the owner role, never to the login role. (Roles are cluster-wide, so "the role exists" is not
# enough: it may have been made for another database on the same server.)
owner_ready = connection.execute(
    text(
        "SELECT pg_has_role(current_user, r.oid, 'SET') "
        "AND has_schema_privilege(r.rolname, 'public', 'CREATE') "
        "FROM pg_roles r WHERE r.rolname = :role"
    ),
    {"role": OWNER_ROLE},
).scalar()
if owner_ready:
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
