"""The lead aggregate: status in the pipeline, events only on change, tags, soft deletion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec
import pytest

from scaliyo.domain.leads.attributes import LeadSource
from scaliyo.domain.leads.errors import LeadNotFound, UnknownStatus
from scaliyo.domain.leads.events import (
    LeadCreated,
    LeadDeleted,
    LeadRestored,
    LeadScoreChanged,
    LeadStatusChanged,
    LeadUpdated,
    TagAdded,
    TagRemoved,
)
from scaliyo.domain.leads.icp import IdealCustomerProfile
from scaliyo.domain.leads.lead import Lead, LeadId
from scaliyo.domain.leads.pipeline import default_pipeline
from scaliyo.domain.leads.profile import LeadInput, LeadProfile, normalise_lead
from scaliyo.domain.leads.scoring import EngagementEvent, EngagementKind, score
from scaliyo.domain.shared.errors import ValidationFailed
from scaliyo.domain.shared.ids import UserId, WorkspaceId

NOW = datetime(2026, 3, 1, tzinfo=UTC)
WORKSPACE = WorkspaceId(UUID(int=100))
PIPELINE = default_pipeline(iter(UUID(int=n) for n in range(1, 7)).__next__)
PROFILE = normalise_lead(LeadInput(email="jane@acme.com", first_name="Jane", title="CEO"))


def new_lead(**overrides) -> tuple[Lead, list]:
    arguments = {
        "id": LeadId(UUID(int=500)),
        "workspace_id": WORKSPACE,
        "profile": PROFILE,
        "source": LeadSource.MANUAL,
        "pipeline": PIPELINE,
        "now": NOW,
    } | overrides
    return Lead.create(**arguments)


def test_a_new_lead_starts_in_the_first_stage_and_says_so():
    lead, events = new_lead(tags=["VIP", " vip ", "Q3  webinar"])
    assert lead.status == PIPELINE.first.id
    assert lead.tags == ("VIP", "Q3 webinar")
    assert events == [
        LeadCreated(
            workspace_id=WORKSPACE,
            aggregate_id=lead.id,
            source="manual",
            status=PIPELINE.first.id,
            tags=("VIP", "Q3 webinar"),
        )
    ]
    with pytest.raises(UnknownStatus):
        new_lead(status=UUID(int=999))


def test_status_changes_only_emit_when_the_status_changes():
    lead, _ = new_lead()
    won = PIPELINE.stages[4].id
    moved, events = lead.change_status(won, PIPELINE, NOW + timedelta(hours=1))
    assert events == [
        LeadStatusChanged(
            workspace_id=WORKSPACE, aggregate_id=lead.id, from_status=lead.status, to_status=won
        )
    ]
    assert moved.updated_at == NOW + timedelta(hours=1)
    assert moved.change_status(won, PIPELINE, NOW) == (moved, [])
    with pytest.raises(UnknownStatus):
        lead.change_status(UUID(int=999), PIPELINE, NOW)


def test_score_changes_only_emit_when_the_number_changes():
    lead, _ = new_lead()
    first = score(lead.profile, IdealCustomerProfile(), [], NOW)
    scored, events = lead.rescore(first)
    assert events == [
        LeadScoreChanged(
            workspace_id=WORKSPACE, aggregate_id=lead.id, from_score=0, to_score=first.score
        )
    ]
    assert scored.rescore(first) == (scored, [])
    again = score(lead.profile, IdealCustomerProfile(), [], NOW + timedelta(days=1))
    assert scored.rescore(again)[1] == []
    replied = score(
        lead.profile,
        IdealCustomerProfile(),
        [EngagementEvent(kind=EngagementKind.REPLY, at=NOW)],
        NOW,
    )
    rescored, events = scored.rescore(replied)
    assert [type(e) for e in events] == [LeadScoreChanged]
    assert (rescored.score, rescored.score_reasons) == (replied.score, replied.reasons)
    assert rescored.updated_at == lead.updated_at


def test_profile_updates_name_the_changed_fields():
    lead, _ = new_lead()
    profile = normalise_lead(
        msgspec.structs.replace(lead.profile.to_input(), title="Chief Executive Officer")
    )
    updated, events = lead.update_profile(profile, NOW)
    assert events == [LeadUpdated(workspace_id=WORKSPACE, aggregate_id=lead.id, changed=("title",))]
    assert updated.update_profile(profile, NOW) == (updated, [])
    owner = UserId(UUID(int=7))
    assigned, events = updated.assign(owner, NOW)
    assert (assigned.owner_id, events[0].changed) == (owner, ("owner_id",))
    assert assigned.assign(owner, NOW)[1] == []


def test_tags_are_added_and_removed_case_insensitively():
    lead, _ = new_lead(tags=["VIP"])
    tagged, events = lead.add_tags(["vip", "Hot", "hot"], NOW)
    assert tagged.tags == ("VIP", "Hot")
    assert events == [TagAdded(workspace_id=WORKSPACE, aggregate_id=lead.id, tag="Hot")]
    untagged, events = tagged.remove_tags(["HOT", "cold"], NOW)
    assert untagged.tags == ("VIP",)
    assert events == [TagRemoved(workspace_id=WORKSPACE, aggregate_id=lead.id, tag="Hot")]
    with pytest.raises(ValidationFailed) as refused:
        lead.add_tags([f"t{n}" for n in range(100)], NOW)
    assert refused.value.errors[0].code == "too_many_tags"
    with pytest.raises(ValidationFailed) as refused:
        lead.add_tags(["x" * 65], NOW)
    assert refused.value.errors[0].field == "tags[0]"


def test_soft_delete_restore_and_purge():
    lead, _ = new_lead()
    deleted, events = lead.delete(NOW)
    assert events == [LeadDeleted(workspace_id=WORKSPACE, aggregate_id=lead.id)]
    assert deleted.delete(NOW) == (deleted, [])
    with pytest.raises(LeadNotFound):
        deleted.change_status(PIPELINE.stages[1].id, PIPELINE, NOW)
    with pytest.raises(LeadNotFound):
        deleted.add_tags(["x"], NOW)
    assert not deleted.purge_due(NOW + timedelta(days=29, hours=23))
    assert deleted.purge_due(NOW + timedelta(days=30))
    restored, events = deleted.restore(NOW)
    assert events == [LeadRestored(workspace_id=WORKSPACE, aggregate_id=lead.id)]
    assert restored.deleted_at is None and restored.restore(NOW) == (restored, [])


def test_invariants_hold_on_decode():
    lead, _ = new_lead()
    raw = msgspec.json.encode(lead)
    assert msgspec.json.decode(raw, type=Lead) == lead
    broken = msgspec.json.decode(raw)
    broken["score"] = 42
    for reasons in ([], [{"code": "x", "label": "x", "points": 41}]):
        broken["score_reasons"] = reasons
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(msgspec.json.encode(broken), type=Lead)
    broken = msgspec.json.decode(raw)
    broken["profile"] = {"first_name": "Jane"}
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(broken), type=Lead)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"email": "a@b.co", "country": "XX"}, LeadProfile)
