from __future__ import annotations

from uuid import UUID

from asyncpg.pgproto import pgproto
from uuid_utils import uuid7

# Ids are made as the database driver's UUID (a ``uuid.UUID`` subclass, the type it reads ids
# back as): built from 16 bytes in C, and written to PostgreSQL as they are, where a
# standard-library UUID costs a Python call to make and another to write. An import makes one
# for every new lead.


class UuidV7Factory:
    def new(self) -> UUID:
        return pgproto.UUID(uuid7().bytes)


def new_id() -> UUID:
    return pgproto.UUID(uuid7().bytes)
