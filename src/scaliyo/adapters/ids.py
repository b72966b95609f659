from __future__ import annotations

from uuid import UUID

import uuid_utils


class UuidV7Factory:
    def new(self) -> UUID:
        return UUID(bytes=uuid_utils.uuid7().bytes)


def new_id() -> UUID:
    return UUID(bytes=uuid_utils.uuid7().bytes)
