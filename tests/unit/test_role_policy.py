from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaliyo.domain.identity.roles import (
    MINIMUM_ROLE,
    Permission,
    RoleTooLow,
    WorkspaceRole,
    can,
    require,
)

roles = st.sampled_from(list(WorkspaceRole))
permissions = st.sampled_from(list(Permission))


def test_the_policy_is_total():
    assert set(MINIMUM_ROLE) == set(Permission)
    for role in WorkspaceRole:
        for permission in Permission:
            assert can(role, permission) in {True, False}


@given(roles, roles, permissions)
def test_the_policy_is_monotone(lower, higher, permission):
    if higher.at_least(lower) and can(lower, permission):
        assert can(higher, permission)


@given(permissions)
def test_owner_can_everything_and_viewer_only_reads(permission):
    assert can(WorkspaceRole.OWNER, permission)
    if can(WorkspaceRole.VIEWER, permission):
        assert permission.value.endswith(".read")


def test_named_rules():
    assert not can(WorkspaceRole.VIEWER, Permission.API_KEYS_MANAGE)
    assert can(WorkspaceRole.ADMIN, Permission.API_KEYS_MANAGE)
    assert not can(WorkspaceRole.ADMIN, Permission.MEMBER_ROLES_CHANGE)
    assert can(WorkspaceRole.OWNER, Permission.MEMBER_ROLES_CHANGE)
    assert not can(WorkspaceRole.ADMIN, Permission.BILLING_MANAGE)
    with pytest.raises(RoleTooLow):
        require(None, Permission.WORKSPACE_READ)
