"""Domain events: frozen msgspec Structs named in the past tense.

Every event carries ``event_type`` and ``version`` (class-level, written into the outbox row and
the message headers) and the aggregate it is about, so the relay can keep order per aggregate.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "event"
    version: ClassVar[int] = 1
    aggregate_type: ClassVar[str] = "aggregate"

    workspace_id: UUID | None
    aggregate_id: UUID
