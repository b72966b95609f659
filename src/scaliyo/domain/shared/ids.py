"""Identifier types shared by every context. Ids are UUIDv7 made by the application."""

from __future__ import annotations

from typing import NewType
from uuid import UUID

WorkspaceId = NewType("WorkspaceId", UUID)
UserId = NewType("UserId", UUID)
JobId = NewType("JobId", UUID)
