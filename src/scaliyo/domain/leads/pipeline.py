"""The pipeline: a workspace's ordered, colour-coded stages; a lead's ``status`` is one of them.

Rules:
- 1 to 50 stages; ids unique; names 1-50 characters, unique case-insensitively; colours
  ``#rrggbb`` (``#RGB`` and upper case accepted, stored lower-case six-digit).
- The order is the tuple's order: after any edit the positions are exactly 0..n-1.
- A stage with leads in it is deleted only with a target stage for them (``stage_in_use``);
  the last stage is never deleted (``last_stage``).
- A new lead without a status goes to the first stage.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from uuid import UUID

import msgspec

from scaliyo.domain.leads.errors import (
    LastStage,
    StageInUse,
    StageNameTaken,
    TooManyStages,
    UnknownStatus,
    invalid,
)
from scaliyo.domain.leads.text import clean_text
from scaliyo.domain.shared.errors import FieldError
from scaliyo.domain.shared.text import has_control_characters

MAX_STAGES = 50
STAGE_NAME_MAX = 50
_COLOR = re.compile(r"^#[0-9a-f]{6}$")
_SHORT_COLOR = re.compile(r"^#[0-9a-f]{3}$")

DEFAULT_STAGES: tuple[tuple[str, str], ...] = (
    ("New", "#64748b"),
    ("Contacted", "#3b82f6"),
    ("Qualified", "#8b5cf6"),
    ("Proposal", "#f59e0b"),
    ("Won", "#22c55e"),
    ("Lost", "#ef4444"),
)


class Stage(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    color: str

    def __post_init__(self) -> None:
        if not 0 < len(self.name) <= STAGE_NAME_MAX or has_control_characters(self.name):
            raise ValueError("a stage name has 1-50 characters and no control characters")
        if self.name != " ".join(self.name.split()):
            raise ValueError("a stage name has its white space folded")
        if not _COLOR.match(self.color):
            raise ValueError("a colour is #rrggbb")


def stage_name(raw: object, *, field: str = "name") -> str:
    name = clean_text(raw, field=field, max_length=STAGE_NAME_MAX)
    if name is None:
        raise invalid(field, "required", "A stage needs a name.")
    return name


def stage_color(raw: object, *, field: str = "color") -> str:
    if not isinstance(raw, str) or len(raw) > 16:
        raise invalid(field, "invalid_color", "Enter a colour like #3b82f6.")
    value = raw.strip().lower()
    if _SHORT_COLOR.match(value):
        value = "#" + "".join(ch * 2 for ch in value[1:])
    if not _COLOR.match(value):
        raise invalid(field, "invalid_color", "Enter a colour like #3b82f6.")
    return value


class Pipeline(msgspec.Struct, frozen=True, kw_only=True):
    stages: tuple[Stage, ...]

    def __post_init__(self) -> None:
        if not 0 < len(self.stages) <= MAX_STAGES:
            raise ValueError("a pipeline has 1 to 50 stages")
        if len({stage.id for stage in self.stages}) != len(self.stages):
            raise ValueError("stage ids are unique")
        if len({stage.name.casefold() for stage in self.stages}) != len(self.stages):
            raise ValueError("stage names are unique, ignoring case")

    @property
    def first(self) -> Stage:
        return self.stages[0]

    @property
    def ids(self) -> tuple[UUID, ...]:
        return tuple(stage.id for stage in self.stages)

    def stage(self, stage_id: UUID, *, field: str = "status") -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        message = "No such pipeline stage in this workspace."
        raise UnknownStatus(message, errors=[FieldError(field, "unknown_status", message)])

    def position(self, stage_id: UUID) -> int:
        return self.ids.index(self.stage(stage_id, field="stage_id").id)

    def _check_name_free(self, name: str, *, ignore: UUID | None = None) -> None:
        folded = name.casefold()
        if any(s.name.casefold() == folded and s.id != ignore for s in self.stages):
            message = f"A stage named {name!r} exists already."
            raise StageNameTaken(message, errors=[FieldError("name", "stage_name_taken", message)])

    def add(self, *, id: UUID, name: str, color: str, position: int | None = None) -> Pipeline:
        """A new stage, at the end or at ``position`` (0 = first)."""
        if len(self.stages) >= MAX_STAGES:
            raise TooManyStages()
        clean = stage_name(name)
        self._check_name_free(clean)
        if any(stage.id == id for stage in self.stages):
            raise ValueError("stage ids are unique")  # ids come from the id factory
        stage = Stage(id=id, name=clean, color=stage_color(color))
        stages = list(self.stages)
        stages.insert(self._slot(position, len(stages)), stage)
        return Pipeline(stages=tuple(stages))

    def rename(self, stage_id: UUID, name: str) -> Pipeline:
        clean = stage_name(name)
        self._check_name_free(clean, ignore=self.stage(stage_id, field="stage_id").id)
        return self._replace(stage_id, name=clean)

    def recolour(self, stage_id: UUID, color: str) -> Pipeline:
        self.stage(stage_id, field="stage_id")
        return self._replace(stage_id, color=stage_color(color))

    def move(self, stage_id: UUID, position: int) -> Pipeline:
        """Put the stage at ``position`` (0 = first; past the end = last), shifting the others."""
        stage = self.stage(stage_id, field="stage_id")
        stages = [s for s in self.stages if s.id != stage_id]
        stages.insert(self._slot(position, len(stages)), stage)
        return Pipeline(stages=tuple(stages))

    def delete(
        self, stage_id: UUID, *, leads_in_stage: int, target: UUID | None = None
    ) -> StageDeletion:
        """Remove a stage. ``leads_in_stage`` is how many leads (deleted ones too) have it."""
        self.stage(stage_id, field="stage_id")
        if len(self.stages) == 1:
            raise LastStage()
        if target is not None:
            if target == stage_id:
                raise invalid("target", "invalid_target", "Pick another stage for the leads.")
            self.stage(target, field="target")
        elif leads_in_stage > 0:
            message = f"{leads_in_stage} leads are in this stage: pick a stage to move them to."
            raise StageInUse(message, errors=[FieldError("target", "stage_in_use", message)])
        remaining = tuple(stage for stage in self.stages if stage.id != stage_id)
        return StageDeletion(pipeline=Pipeline(stages=remaining), move_leads_to=target)

    def _replace(self, stage_id: UUID, **changes: str) -> Pipeline:
        return Pipeline(
            stages=tuple(
                msgspec.structs.replace(stage, **changes) if stage.id == stage_id else stage
                for stage in self.stages
            )
        )

    @staticmethod
    def _slot(position: int | None, size: int) -> int:
        if position is None:
            return size
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise invalid("position", "invalid_position", "A position counts from 0.")
        return min(position, size)


class StageDeletion(msgspec.Struct, frozen=True, kw_only=True):
    """The pipeline after a delete, and where the deleted stage's leads go (if anywhere)."""

    pipeline: Pipeline
    move_leads_to: UUID | None


def default_pipeline(new_id: Callable[[], UUID]) -> Pipeline:
    """New, Contacted, Qualified, Proposal, Won, Lost, with their colours."""
    return Pipeline(
        stages=tuple(Stage(id=new_id(), name=name, color=color) for name, color in DEFAULT_STAGES)
    )
