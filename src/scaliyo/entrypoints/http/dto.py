"""Response bodies that belong to the HTTP layer (use-case views live with their queries)."""

from __future__ import annotations

import msgspec


class Health(msgspec.Struct, kw_only=True):
    status: str


class Ready(msgspec.Struct, kw_only=True):
    status: str
    checks: dict[str, str]
