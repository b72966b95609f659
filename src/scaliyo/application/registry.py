"""The explicit ``{Message: handler}`` mapping: one handler per command or query."""

from __future__ import annotations

from collections.abc import Mapping

from scaliyo.application.bus import Handler, Message
from scaliyo.application.identity.commands import CreateWorkspace, GetWorkspace
from scaliyo.application.identity.handlers import CreateWorkspaceHandler, GetWorkspaceHandler
from scaliyo.application.jobs.handlers import GetJobHandler, ListJobsHandler
from scaliyo.application.jobs.queries import GetJob, ListJobs
from scaliyo.application.shared.ports import Clock, IdFactory


def build_handlers(*, clock: Clock, ids: IdFactory) -> Mapping[type[Message], Handler]:
    return {
        CreateWorkspace: CreateWorkspaceHandler(clock, ids),
        GetWorkspace: GetWorkspaceHandler(),
        GetJob: GetJobHandler(),
        ListJobs: ListJobsHandler(),
    }
