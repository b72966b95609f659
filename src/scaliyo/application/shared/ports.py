"""Ports every context uses: time, ids and the unit of work."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol
from uuid import UUID

from scaliyo.domain.shared.events import Event
from scaliyo.domain.shared.ids import WorkspaceId


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class IdFactory(Protocol):
    def new(self) -> UUID:
        """A new UUIDv7."""
        ...


class BaseUnitOfWork(Protocol):
    """One database transaction for one workspace (or none).

    Repositories hang off the concrete unit of work; each context declares the ones it uses in
    its own protocol (see ``application/<context>/ports.py``). Leaving without ``commit`` rolls
    back. Recorded events are written to the outbox in the same transaction at commit.
    """

    workspace_id: WorkspaceId | None

    def record(self, *events: Event) -> None: ...

    async def scope_to(self, workspace_id: WorkspaceId) -> None:
        """Set the tenant of a transaction that has none (creating a workspace, for one)."""
        ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[WorkspaceId | None], AbstractAsyncContextManager[BaseUnitOfWork]]
