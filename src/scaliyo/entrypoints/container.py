"""Dependency injection (dishka): one provider registry; each process builds its container at
start-up. Tests build a container from these providers plus overrides."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dishka import AsyncContainer, Provider, Scope, make_async_container, provide

from scaliyo.adapters.clock import SystemClock
from scaliyo.adapters.ids import UuidV7Factory
from scaliyo.adapters.persistence.database import Database
from scaliyo.adapters.persistence.unit_of_work import unit_of_work_factory
from scaliyo.adapters.settings import Settings, load_settings
from scaliyo.application.bus import Bus, default_middleware
from scaliyo.application.registry import build_handlers
from scaliyo.application.shared.ports import Clock, IdFactory


class SettingsProvider(Provider):
    """Settings from the environment; tests pass ``SettingsProvider(settings)``."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self._settings = settings

    @provide(scope=Scope.APP)
    def settings(self) -> Settings:
        return self._settings or load_settings()


class CoreProvider(Provider):
    scope = Scope.APP

    @provide
    def clock(self) -> Clock:
        return SystemClock()

    @provide
    def ids(self) -> IdFactory:
        return UuidV7Factory()

    @provide
    async def database(self, settings: Settings) -> AsyncIterator[Database]:
        database = Database.connect(settings)
        yield database
        await database.dispose()

    @provide
    def bus(self, database: Database, clock: Clock, ids: IdFactory) -> Bus:
        return Bus(
            build_handlers(clock=clock, ids=ids),
            unit_of_work_factory(database.app),
            default_middleware(),
        )


def providers(settings: Settings | None = None) -> list[Provider]:
    return [SettingsProvider(settings), CoreProvider()]


def build_container(*extra: Provider, settings: Settings | None = None) -> AsyncContainer:
    return make_async_container(*providers(settings), *extra)
