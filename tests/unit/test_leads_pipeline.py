"""The pipeline: defaults, edits, and a total order after any sequence of edits."""

from __future__ import annotations

import itertools
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from scaliyo.domain.leads.errors import (
    LastStage,
    StageInUse,
    StageNameTaken,
    TooManyStages,
    UnknownStatus,
)
from scaliyo.domain.leads.pipeline import MAX_STAGES, Pipeline, Stage, default_pipeline
from scaliyo.domain.shared.errors import ValidationFailed


def counter_ids():
    numbers = itertools.count(1)
    return lambda: UUID(int=next(numbers))


def test_default_pipeline_has_six_coloured_stages_in_order():
    pipeline = default_pipeline(counter_ids())
    assert [(s.name, s.color) for s in pipeline.stages] == [
        ("New", "#64748b"),
        ("Contacted", "#3b82f6"),
        ("Qualified", "#8b5cf6"),
        ("Proposal", "#f59e0b"),
        ("Won", "#22c55e"),
        ("Lost", "#ef4444"),
    ]
    assert pipeline.first.name == "New"


def test_edits():
    new_id = counter_ids()
    pipeline = default_pipeline(new_id)
    demo = new_id()
    pipeline = pipeline.add(id=demo, name="  Demo  booked ", color="#ABC", position=2)
    assert [s.name for s in pipeline.stages][:4] == ["New", "Contacted", "Demo booked", "Qualified"]
    assert pipeline.stage(demo).color == "#aabbcc"
    pipeline = pipeline.move(demo, 0).rename(demo, "Demo").recolour(demo, "#00FF00")
    assert (pipeline.position(demo), pipeline.first.name, pipeline.first.color) == (
        0,
        "Demo",
        "#00ff00",
    )
    assert pipeline.move(demo, 99).stages[-1].id == demo  # past the end: last
    with pytest.raises(StageNameTaken):
        pipeline.add(id=new_id(), name="WON", color="#000000")
    with pytest.raises(StageNameTaken):
        pipeline.rename(demo, "lost")
    assert pipeline.rename(demo, "DEMO").stage(demo).name == "DEMO"  # its own name, new case
    with pytest.raises(ValidationFailed) as refused:
        pipeline.recolour(demo, "green")
    assert refused.value.errors[0].code == "invalid_color"
    with pytest.raises(ValidationFailed) as refused:
        pipeline.rename(demo, "   ")
    assert refused.value.errors[0].code == "required"
    with pytest.raises(UnknownStatus) as unknown:
        pipeline.stage(UUID(int=999))
    assert unknown.value.code == "unknown_status"
    full = pipeline
    while len(full.stages) < MAX_STAGES:
        full = full.add(id=new_id(), name=f"Stage {len(full.stages)}", color="#000000")
    with pytest.raises(TooManyStages):
        full.add(id=new_id(), name="One more", color="#000000")


def test_a_stage_in_use_needs_a_target_and_the_last_stage_stays():
    pipeline = default_pipeline(counter_ids())
    new, contacted = pipeline.stages[0].id, pipeline.stages[1].id
    with pytest.raises(StageInUse) as refused:
        pipeline.delete(new, leads_in_stage=3)
    assert refused.value.code == "stage_in_use"
    assert refused.value.errors[0].field == "target"
    deletion = pipeline.delete(new, leads_in_stage=3, target=contacted)
    assert deletion.move_leads_to == contacted
    assert deletion.pipeline.first.id == contacted
    with pytest.raises(ValidationFailed):
        pipeline.delete(new, leads_in_stage=3, target=new)
    assert pipeline.delete(new, leads_in_stage=0).move_leads_to is None
    only = Pipeline(stages=(pipeline.stages[0],))
    with pytest.raises(LastStage) as last:
        only.delete(new, leads_in_stage=0)
    assert last.value.code == "last_stage"


def test_invariants_hold_on_construction_and_decode():
    stage = Stage(id=UUID(int=1), name="New", color="#000000")
    with pytest.raises(ValueError):
        Pipeline(stages=())
    with pytest.raises(ValueError):
        Pipeline(stages=(stage, Stage(id=UUID(int=2), name="NEW", color="#000000")))
    with pytest.raises(ValueError):
        Stage(id=UUID(int=1), name="New", color="red")


NAMES = st.one_of(
    st.sampled_from(["New", "new", "Won", "Demo", "DEMO", " Follow  up ", "Follow up", ""]),
    st.text(max_size=60),
)
COLORS = st.sampled_from(["#000000", "#ABC", "#3b82f6", "blue", "#12345g"])


class PipelineEdits(RuleBasedStateMachine):
    """Random edits against a plain list model; the pipeline must agree after each one."""

    def __init__(self) -> None:
        super().__init__()
        self.new_id = counter_ids()
        self.pipeline = default_pipeline(self.new_id)
        self.model = [s.id for s in self.pipeline.stages]
        self.leads = {stage_id: 0 for stage_id in self.model}
        self.total_leads = 0

    def _index(self, index: int) -> UUID:
        return self.model[index % len(self.model)]

    @rule(name=NAMES, color=COLORS, position=st.one_of(st.none(), st.integers(0, 60)))
    def add(self, name, color, position):
        stage_id = self.new_id()
        try:
            self.pipeline = self.pipeline.add(
                id=stage_id, name=name, color=color, position=position
            )
        except (StageNameTaken, TooManyStages, ValidationFailed):
            return
        slot = len(self.model) if position is None else min(position, len(self.model))
        self.model.insert(slot, stage_id)
        self.leads[stage_id] = 0

    @rule(index=st.integers(0, 100), name=NAMES)
    def rename(self, index, name):
        try:
            self.pipeline = self.pipeline.rename(self._index(index), name)
        except (StageNameTaken, ValidationFailed):
            return

    @rule(index=st.integers(0, 100), color=COLORS)
    def recolour(self, index, color):
        try:
            self.pipeline = self.pipeline.recolour(self._index(index), color)
        except ValidationFailed:
            return

    @rule(index=st.integers(0, 100), position=st.integers(0, 60))
    def move(self, index, position):
        stage_id = self._index(index)
        self.pipeline = self.pipeline.move(stage_id, position)
        self.model.remove(stage_id)
        self.model.insert(min(position, len(self.model)), stage_id)

    @rule(index=st.integers(0, 100), count=st.integers(1, 5))
    def put_leads(self, index, count):
        self.leads[self._index(index)] += count
        self.total_leads += count

    @rule(index=st.integers(0, 100), to=st.one_of(st.none(), st.integers(0, 100)))
    def delete(self, index, to):
        stage_id = self._index(index)
        target_id = None if to is None else self._index(to)
        in_use = self.leads[stage_id]
        try:
            deletion = self.pipeline.delete(stage_id, leads_in_stage=in_use, target=target_id)
        except LastStage:
            assert len(self.model) == 1
            return
        except StageInUse:
            assert in_use > 0 and target_id is None
            return
        except ValidationFailed:
            assert target_id == stage_id
            return
        if deletion.move_leads_to is not None:
            self.leads[deletion.move_leads_to] += self.leads[stage_id]
        else:
            assert in_use == 0
        del self.leads[stage_id]
        self.model.remove(stage_id)
        self.pipeline = deletion.pipeline

    @invariant()
    def order_is_total_and_matches_the_model(self):
        ids = list(self.pipeline.ids)
        assert ids == self.model
        assert [self.pipeline.position(stage_id) for stage_id in ids] == list(range(len(ids)))
        assert 1 <= len(ids) <= MAX_STAGES

    @invariant()
    def names_are_unique_ignoring_case_and_no_lead_is_lost(self):
        names = [stage.name.casefold() for stage in self.pipeline.stages]
        assert len(set(names)) == len(names)
        assert set(self.leads) == set(self.pipeline.ids)
        assert sum(self.leads.values()) == self.total_leads


PipelineEdits.TestCase.settings = settings(max_examples=150, stateful_step_count=40)
test_pipeline_edits_keep_a_total_order = PipelineEdits.TestCase
