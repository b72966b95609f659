"""The workspace: the tenant that owns leads, senders, content and billing."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import msgspec

from scaliyo.domain.shared.errors import FieldError, ValidationFailed
from scaliyo.domain.shared.events import Event
from scaliyo.domain.shared.ids import WorkspaceId
from scaliyo.domain.shared.text import clean_name, has_control_characters

NAME_MAX_LENGTH = 100


def workspace_name(raw: str) -> str:
    """A workspace name: 1 to 100 characters once white space is folded, no control characters."""
    name = clean_name(raw)
    if not name:
        raise ValidationFailed(
            "A workspace needs a name.",
            errors=[FieldError("name", "required", "A workspace needs a name.")],
        )
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationFailed(
            f"A workspace name has at most {NAME_MAX_LENGTH} characters.",
            errors=[FieldError("name", "too_long", f"At most {NAME_MAX_LENGTH} characters.")],
        )
    if has_control_characters(name):
        raise ValidationFailed(
            "A workspace name cannot hold control characters.",
            errors=[FieldError("name", "invalid_characters", "No control characters.")],
        )
    return name


class Workspace(msgspec.Struct, kw_only=True):
    id: WorkspaceId
    name: str
    created_at: datetime

    @classmethod
    def create(cls, *, id: WorkspaceId, name: str, now: datetime) -> Workspace:
        return cls(id=id, name=workspace_name(name), created_at=now)


class WorkspaceCreated(Event, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "workspace.created"
    version: ClassVar[int] = 1
    aggregate_type: ClassVar[str] = "workspace"

    name: str
