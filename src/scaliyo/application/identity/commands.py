from __future__ import annotations

from typing import ClassVar

import msgspec

from scaliyo.application.bus import Command, Query


class CreateWorkspace(Command, frozen=True, kw_only=True):
    """Create a workspace (operators now; signup later)."""

    requires_workspace: ClassVar[bool] = False
    name: str


class GetWorkspace(Query, frozen=True, kw_only=True):
    pass


class WorkspaceView(msgspec.Struct, kw_only=True):
    id: str
    name: str
    created_at: str
