from __future__ import annotations

from uuid import UUID

from uuid_utils.compat import uuid7  # a standard-library UUID, made without re-parsing bytes


class UuidV7Factory:
    def new(self) -> UUID:
        return uuid7()


def new_id() -> UUID:
    return uuid7()
