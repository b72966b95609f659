"""Members and roles through the bus: who may change roles, remove, leave; the last owner."""

from __future__ import annotations

import pytest

from scaliyo.application.identity.workspace_admin import (
    ChangeMemberRole,
    CreateApiKey,
    ListApiKeys,
    ListMembers,
    RemoveMember,
    UpdateWorkspace,
)
from scaliyo.domain.identity.members import LastOwner, MemberNotFound
from scaliyo.domain.identity.roles import RoleTooLow, WorkspaceRole
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


async def test_members_are_listed_with_emails_and_roles_to_every_member(world, team):
    ws, users = team
    page = await world.bus().execute(ListMembers(), world.as_user(users["viewer"], ws))
    assert sorted((m.email, m.role) for m in page.items) == [
        ("admin@acme.example.com", "admin"),
        ("member@acme.example.com", "member"),
        ("owner@acme.example.com", "owner"),
        ("viewer@acme.example.com", "viewer"),
    ]
    assert all(m.joined_at.endswith("Z") for m in page.items)


async def test_members_paginate_by_cursor(world, team):
    ws, users = team
    bus = world.bus()
    first = await bus.execute(ListMembers(limit=3), world.as_user(users["owner"], ws))
    assert len(first.items) == 3 and first.next_cursor is not None
    rest = await bus.execute(
        ListMembers(limit=3, cursor=first.next_cursor), world.as_user(users["owner"], ws)
    )
    assert len(rest.items) == 1 and rest.next_cursor is None
    assert len({m.user_id for m in first.items + rest.items}) == 4


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
async def test_only_an_owner_changes_roles(world, team, role):
    ws, users = team
    with pytest.raises(RoleTooLow):
        await world.bus().execute(
            ChangeMemberRole(user_id=str(users["viewer"]), role="member"),
            world.as_user(users[role], ws),
        )
    assert world.store.identity.memberships[(ws, users["viewer"])].role is WorkspaceRole.VIEWER


async def test_an_owner_changes_a_role_and_it_is_audited(world, team):
    ws, users = team
    view = await world.bus().execute(
        ChangeMemberRole(user_id=str(users["viewer"]), role="admin"),
        world.as_user(users["owner"], ws),
    )
    assert view.role == "admin"
    assert world.store.identity.memberships[(ws, users["viewer"])].role is WorkspaceRole.ADMIN
    audit = [a for a in world.store.audit if a.action == "member.role_changed"]
    assert [(a.target, a.details) for a in audit] == [
        (f"user:{users['viewer']}", {"from": "viewer", "to": "admin"})
    ]


async def test_the_last_owner_cannot_be_demoted_but_one_of_two_can(world, team):
    ws, users = team
    bus = world.bus()
    with pytest.raises(LastOwner) as refused:
        await bus.execute(
            ChangeMemberRole(user_id=str(users["owner"]), role="admin"),
            world.as_user(users["owner"], ws),
        )
    assert refused.value.code == "last_owner"
    await bus.execute(
        ChangeMemberRole(user_id=str(users["admin"]), role="owner"),
        world.as_user(users["owner"], ws),
    )
    await bus.execute(
        ChangeMemberRole(user_id=str(users["owner"]), role="member"),
        world.as_user(users["owner"], ws),
    )
    roles = {u: m.role for (w, u), m in world.store.identity.memberships.items() if w == ws}
    assert roles[users["owner"]] is WorkspaceRole.MEMBER
    assert roles[users["admin"]] is WorkspaceRole.OWNER


async def test_a_demoted_owner_loses_the_right_at_once(world, team):
    """The actor's role is re-read in the transaction, not trusted from the request."""
    ws, users = team
    bus = world.bus()
    co_owner = world.member(ws, "co@acme.example.com", "owner")
    stale = world.as_user(users["owner"], ws)  # authenticated while still an owner
    await bus.execute(
        ChangeMemberRole(user_id=str(users["owner"]), role="member"),
        world.as_user(co_owner, ws),
    )
    with pytest.raises(RoleTooLow):
        await bus.execute(ChangeMemberRole(user_id=str(co_owner), role="member"), stale)


async def test_role_changes_refuse_unknown_roles_and_strangers(world, team):
    ws, users = team
    other_ws = world.workspace("Other")
    stranger = world.member(other_ws, "stranger@other.example.com", "member")
    bus = world.bus()
    owner = world.as_user(users["owner"], ws)
    with pytest.raises(ValidationFailed) as refused:
        await bus.execute(ChangeMemberRole(user_id=str(users["viewer"]), role="god"), owner)
    assert refused.value.errors[0].field == "role"
    for target in (str(stranger), "not-a-uuid"):
        with pytest.raises(MemberNotFound):
            await bus.execute(ChangeMemberRole(user_id=target, role="viewer"), owner)
        with pytest.raises(MemberNotFound):
            await bus.execute(RemoveMember(user_id=target), owner)
    assert world.store.identity.memberships[(other_ws, stranger)].role is WorkspaceRole.MEMBER


async def test_an_admin_removes_a_member_but_not_an_owner(world, team):
    ws, users = team
    bus = world.bus()
    admin = world.as_user(users["admin"], ws)
    with pytest.raises(RoleTooLow):
        await bus.execute(RemoveMember(user_id=str(users["owner"])), admin)
    await bus.execute(RemoveMember(user_id=str(users["member"])), admin)
    assert (ws, users["member"]) not in world.store.identity.memberships
    assert [a.action for a in world.store.audit] == ["member.removed"]


@pytest.mark.parametrize("role", ["member", "viewer"])
async def test_members_and_viewers_cannot_remove_others_but_can_leave(world, team, role):
    ws, users = team
    bus = world.bus()
    me = world.as_user(users[role], ws)
    with pytest.raises(RoleTooLow):
        await bus.execute(RemoveMember(user_id=str(users["admin"])), me)
    await bus.execute(RemoveMember(user_id=str(users[role])), me)
    assert (ws, users[role]) not in world.store.identity.memberships
    assert [a.action for a in world.store.audit] == ["member.left"]


async def test_the_last_owner_can_neither_leave_nor_be_removed(world, team):
    ws, users = team
    with pytest.raises(LastOwner):
        await world.bus().execute(
            RemoveMember(user_id=str(users["owner"])), world.as_user(users["owner"], ws)
        )
    assert (ws, users["owner"]) in world.store.identity.memberships


async def test_removing_a_member_revokes_the_keys_they_made_here(world, team):
    ws, users = team
    bus = world.bus()
    await bus.execute(CreateApiKey(name="ci"), world.as_user(users["admin"], ws))
    await bus.execute(CreateApiKey(name="mine"), world.as_user(users["owner"], ws))
    await bus.execute(RemoveMember(user_id=str(users["admin"])), world.as_user(users["owner"], ws))
    page = await bus.execute(ListApiKeys(), world.as_user(users["owner"], ws))
    assert [k.name for k in page.items] == ["mine"]


async def test_update_workspace_is_admin_and_up_and_patch_leaves_absent_fields(world, team):
    ws, users = team
    bus = world.bus()
    with pytest.raises(RoleTooLow):
        await bus.execute(UpdateWorkspace(name="Nope"), world.as_user(users["member"], ws))
    unchanged = await bus.execute(UpdateWorkspace(), world.as_user(users["admin"], ws))
    assert unchanged.name == "Acme"
    renamed = await bus.execute(
        UpdateWorkspace(name="  Acme   Corp "), world.as_user(users["admin"], ws)
    )
    assert renamed.name == "Acme Corp"
    assert world.store.workspaces[ws].name == "Acme Corp"
    with pytest.raises(ValidationFailed):
        await bus.execute(UpdateWorkspace(name=" "), world.as_user(users["admin"], ws))
    assert [a.action for a in world.store.audit] == ["workspace.updated"]
