"""The engines of a process: one per database role it uses.

``app`` (scaliyo_app) serves every request and job that acts for a workspace; ``system``
(scaliyo_system, BYPASSRLS) is used only by the named platform paths of DESIGN.md, each an
adapter of its own. Engines are made when a process starts, never at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from scaliyo.adapters.settings import APP_ROLE, SYSTEM_ROLE, Settings


@dataclass(frozen=True, slots=True)
class Database:
    app: AsyncEngine
    system: AsyncEngine

    @classmethod
    def connect(cls, settings: Settings) -> Database:
        def engine(role: str, pool_size: int) -> AsyncEngine:
            return create_async_engine(
                settings.role_url(role),
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                pool_recycle=1800,
                connect_args={"server_settings": {"application_name": f"scaliyo-{role}"}},
            )

        return cls(
            app=engine(APP_ROLE, settings.db_pool_size),
            system=engine(SYSTEM_ROLE, max(2, settings.db_pool_size // 4)),
        )

    async def dispose(self) -> None:
        await self.app.dispose()
        await self.system.dispose()
