"""API keys, onboarding, /me and the workspace switch through the bus."""

from __future__ import annotations

import pytest

from scaliyo.application.bus import ActorKind
from scaliyo.application.identity.actors import UserRequired
from scaliyo.application.identity.handlers import WorkspaceNotFound
from scaliyo.application.identity.workspace_admin import (
    CreateApiKey,
    GetMe,
    GetOnboarding,
    ListApiKeys,
    RevokeApiKey,
    SaveOnboardingStep,
    SwitchWorkspace,
)
from scaliyo.application.identity.workspace_admin_handlers import ApiKeyNotFound, SessionRequired
from scaliyo.domain.identity.api_keys import parse_key
from scaliyo.domain.identity.onboarding import (
    CompanyStep,
    FinishStep,
    GoalStep,
    OnboardingIncomplete,
    OnboardingRole,
    PrimaryGoal,
    RoleStep,
    TeamSize,
)
from scaliyo.domain.identity.roles import RoleTooLow
from scaliyo.domain.shared.errors import ValidationFailed
from tests.unit.workspace_admin_world import World


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def team(world: World):
    ws = world.workspace("Acme")
    return ws, {
        role: world.member(ws, f"{role}@acme.example.com", role)
        for role in ("owner", "admin", "member", "viewer")
    }


# --- API keys -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "member"])
async def test_viewers_and_members_cannot_create_or_list_keys(world, team, role):
    ws, users = team
    for message in (CreateApiKey(name="ci"), ListApiKeys()):
        with pytest.raises(RoleTooLow) as refused:
            await world.bus().execute(message, world.as_user(users[role], ws))
        assert refused.value.code == "insufficient_role"
    assert world.store.identity.api_keys == {}


async def test_a_key_is_shown_once_and_only_its_secrets_digest_is_kept(world, team):
    ws, users = team
    bus = world.bus()
    created = await bus.execute(CreateApiKey(name="  CI  "), world.as_user(users["admin"], ws))
    parsed = parse_key(created.key)
    assert parsed is not None
    key_id, secret = parsed
    (stored,) = world.store.identity.api_keys.values()
    assert stored.key_id == key_id
    assert stored.secret_hash == world.tokens.digest(secret) and secret not in repr(stored)
    assert stored.created_by == users["admin"] and stored.name == "CI"

    page = await bus.execute(ListApiKeys(), world.as_user(users["owner"], ws))
    (listed,) = page.items
    assert listed.id == created.id and listed.prefix == f"sk_{key_id}_…"
    assert secret not in repr(page)
    audit = [a for a in world.store.audit if a.action == "api_key.created"]
    assert audit[0].details == {"name": "CI", "key_id": key_id}


async def test_a_key_needs_a_name(world, team):
    ws, users = team
    with pytest.raises(ValidationFailed) as refused:
        await world.bus().execute(CreateApiKey(name="  "), world.as_user(users["owner"], ws))
    assert refused.value.errors[0].field == "name"


async def test_revoking_a_key_hides_it_and_is_audited_once(world, team):
    ws, users = team
    bus = world.bus()
    owner = world.as_user(users["owner"], ws)
    created = await bus.execute(CreateApiKey(name="ci"), owner)
    await bus.execute(RevokeApiKey(api_key_id=created.id), owner)
    await bus.execute(RevokeApiKey(api_key_id=created.id), owner)
    assert (await bus.execute(ListApiKeys(), owner)).items == []
    assert [a.action for a in world.store.audit].count("api_key.revoked") == 1
    (stored,) = world.store.identity.api_keys.values()
    assert stored.revoked_at == world.clock.now()


async def test_another_workspaces_key_is_not_found(world, team):
    ws, users = team
    other = world.workspace("Other")
    other_owner = world.member(other, "o@other.example.com", "owner")
    bus = world.bus()
    theirs = await bus.execute(CreateApiKey(name="theirs"), world.as_user(other_owner, other))
    for key_id in (theirs.id, "not-a-uuid"):
        with pytest.raises(ApiKeyNotFound):
            await bus.execute(RevokeApiKey(api_key_id=key_id), world.as_user(users["owner"], ws))
    assert all(k.revoked_at is None for k in world.store.identity.api_keys.values())


# --- onboarding -----------------------------------------------------------------------------

ROLE = RoleStep(role=OnboardingRole.FOUNDER, team_size=TeamSize.SMALL)
COMPANY = CompanyStep(company_name="  Acme  Inc ", website="acme.example.com", industry="SaaS")
GOAL = GoalStep(primary_goal=PrimaryGoal.OUTREACH)


async def test_onboarding_steps_are_saved_per_workspace_and_finish_needs_all(world, team):
    ws, users = team
    bus = world.bus()
    admin = world.as_user(users["admin"], ws)
    fresh = await bus.execute(GetOnboarding(), world.as_user(users["viewer"], ws))
    assert (fresh.current_step, fresh.completed) == (1, False)

    await bus.execute(SaveOnboardingStep(step=1, data=ROLE), admin)
    with pytest.raises(OnboardingIncomplete) as refused:
        await bus.execute(SaveOnboardingStep(step=4, data=FinishStep()), admin)
    assert refused.value.code == "onboarding_incomplete"
    after_company = await bus.execute(SaveOnboardingStep(step=2, data=COMPANY), admin)
    assert after_company.company == CompanyStep(
        company_name="Acme Inc", website="https://acme.example.com", industry="SaaS"
    )
    assert after_company.current_step == 3
    await bus.execute(SaveOnboardingStep(step=3, data=GOAL), admin)
    done = await bus.execute(SaveOnboardingStep(step=4, data=FinishStep()), admin)
    assert (done.current_step, done.completed) == (5, True)
    assert done.role == ROLE and done.goal == GOAL

    other = world.workspace("Other")
    other_owner = world.member(other, "o@other.example.com", "owner")
    untouched = await bus.execute(GetOnboarding(), world.as_user(other_owner, other))
    assert untouched.current_step == 1


async def test_onboarding_refuses_viewers_wrong_data_and_unknown_steps(world, team):
    ws, users = team
    bus = world.bus()
    with pytest.raises(RoleTooLow):
        await bus.execute(SaveOnboardingStep(step=1, data=ROLE), world.as_user(users["member"], ws))
    admin = world.as_user(users["admin"], ws)
    with pytest.raises(ValidationFailed):
        await bus.execute(SaveOnboardingStep(step=2, data=ROLE), admin)
    with pytest.raises(ValidationFailed) as refused:
        await bus.execute(SaveOnboardingStep(step=7, data=ROLE), admin)
    assert refused.value.errors[0].field == "step"
    with pytest.raises(ValidationFailed) as refused:
        await bus.execute(
            SaveOnboardingStep(step=2, data=CompanyStep(company_name="A", website="no dots")),
            admin,
        )
    assert refused.value.errors[0].field == "website"
    assert world.store.identity.onboarding == {}


# --- /me and the switch ---------------------------------------------------------------------


async def test_me_lists_the_users_workspaces_and_the_current_one(world, team):
    ws, users = team
    second = world.workspace("Second")
    world.member(second, "admin@acme.example.com", "owner")
    world.workspace("Not mine")
    me = await world.bus().execute(GetMe(), world.as_user(users["admin"], ws))
    assert me.user.email == "admin@acme.example.com"
    assert (me.user.platform_role, me.user.is_super_admin) == ("CLIENT", False)
    assert sorted((w.name, w.role) for w in me.workspaces) == [
        ("Acme", "admin"),
        ("Second", "owner"),
    ]
    assert me.current_workspace is not None and me.current_workspace.id == str(ws)
    assert me.onboarding is not None and me.onboarding.current_step == 1


async def test_me_without_a_workspace_omits_the_current_one(world):
    user = world.user("loner@example.com")
    me = await world.bus().execute(GetMe(), world.as_user(user, None))
    assert me.workspaces == [] and me.current_workspace is None and me.onboarding is None


async def test_me_needs_a_user(world):
    with pytest.raises(UserRequired):
        await world.bus().execute(GetMe(), world.anonymous())


async def test_switching_needs_membership_and_a_session(world, team):
    ws, users = team
    second = world.workspace("Second")
    world.member(second, "member@acme.example.com", "viewer")
    stranger_ws = world.workspace("Stranger")
    session = world.session(users["member"], ws)
    bus = world.bus()
    me = world.as_user(users["member"], ws, session_id=session)

    for target in (str(stranger_ws), "not-a-uuid"):
        with pytest.raises(WorkspaceNotFound):
            await bus.execute(SwitchWorkspace(workspace_id=target), me)
    with pytest.raises(SessionRequired):
        await bus.execute(
            SwitchWorkspace(workspace_id=str(second)),
            world.as_user(users["member"], ws, kind=ActorKind.API_KEY),
        )
    switched = await bus.execute(SwitchWorkspace(workspace_id=str(second)), me)
    assert (switched.id, switched.role) == (str(second), "viewer")
    assert world.store.identity.sessions[session] == (users["member"], second)
    assert world.store.identity.users[users["member"]].last_workspace_id == second
