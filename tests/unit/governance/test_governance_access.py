"""Each role can do exactly what it should, and nothing more."""

from __future__ import annotations

import pytest

from nextmove.errors import AccessDenied
from nextmove.governance.access import PERMISSIONS, can, permissions_of, require
from nextmove.governance.model import Actor, Permission, Role

# The designed matrix, written out independently of access.PERMISSIONS.
MATRIX = """
permission           admin ops steward approver rep viewer
view                   x    x     x       x      x    x
view_audit             x    x     x       x           x
verify_audit           x    x     x       x           x
import_data            x    x     x
apply_playbook         x          x
decide                 x    x
learn                  x    x
record_outcomes        x    x                    x
request_approval       x    x                    x
approve                x                  x
engage_kill_switch     x    x     x
release_kill_switch    x    x
restore_autonomy       x    x     x
open_exception         x    x     x       x      x
resolve_exception      x    x     x
manage_users           x
"""


def parse_matrix(text: str) -> dict[tuple[Role, Permission], bool]:
    """Read a drawn matrix: an ``x`` under a role's name grants that row's permission."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = next(index for index, line in enumerate(lines) if "admin" in line.split())
    columns = {role: lines[header].index(role.value) for role in Role}
    parsed = {}
    for line in lines[header + 1 : header + 1 + len(Permission)]:
        permission = Permission(line.split()[0])
        for role, at in columns.items():
            parsed[(role, permission)] = line[at : at + len(role.value)].strip() == "x"
    return parsed


EXPECTED = parse_matrix(MATRIX)


def test_the_written_matrix_covers_every_role_and_permission() -> None:
    assert set(EXPECTED) == {(role, permission) for role in Role for permission in Permission}
    assert set(PERMISSIONS) == set(Role)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_role_has_exactly_the_designed_permission(role: Role, permission: Permission) -> None:
    assert can(role, permission) is EXPECTED[(role, permission)]
    actor = Actor(user_id="someone", role=role)
    if EXPECTED[(role, permission)]:
        require(actor, permission)
    else:
        with pytest.raises(AccessDenied):
            require(actor, permission)


def test_refusal_names_the_user_role_and_operation() -> None:
    with pytest.raises(AccessDenied, match=r"^user ana \(viewer\) may not apply_playbook$"):
        require(Actor(user_id="ana", role=Role.VIEWER), Permission.APPLY_PLAYBOOK)


def test_admin_holds_every_permission_and_only_admin_manages_users() -> None:
    assert permissions_of(Role.ADMIN) == frozenset(Permission)
    assert {role for role in Role if can(role, Permission.MANAGE_USERS)} == {Role.ADMIN}


def test_nobody_but_admin_may_both_request_and_approve() -> None:
    both = {
        role
        for role in Role
        if can(role, Permission.REQUEST_APPROVAL) and can(role, Permission.APPROVE)
    }
    assert both == {Role.ADMIN}


def test_the_module_docstring_draws_the_same_matrix() -> None:
    from nextmove.governance import access

    assert parse_matrix(access.__doc__ or "") == EXPECTED
