"""In-memory stand-ins for the leads context's repositories, for unit tests of handlers that
touch leads in passing (creating a workspace gives it its pipeline)."""

from __future__ import annotations

from scaliyo.domain.leads.pipeline import Pipeline


class InMemoryPipelines:
    """``uow.pipeline`` holding one workspace's stages in memory."""

    def __init__(self) -> None:
        self.pipeline: Pipeline | None = None

    async def get(self) -> Pipeline | None:
        return self.pipeline

    async def lock(self) -> Pipeline | None:
        return self.pipeline

    async def create(self, pipeline: Pipeline) -> Pipeline:
        if self.pipeline is None:
            self.pipeline = pipeline
        return self.pipeline

    async def save(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
