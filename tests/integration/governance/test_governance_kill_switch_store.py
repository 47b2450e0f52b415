"""Kill switches: engaged and released by the right roles, effective on the next read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import OperationalError

from nextmove.errors import AccessDenied, GovernanceError, StoreError
from nextmove.governance import service
from nextmove.governance.kill_switches import is_killed
from nextmove.governance.model import GLOBAL_TARGET, Actor, KillScope, Role
from nextmove.governance.repository import KillSwitchRepository

Clock = Callable[[], datetime]
MakeUser = Callable[..., Actor]


def killed(db: SqlEngine, actor: Actor, action: str, motion: str) -> str | None:
    return is_killed(
        service.active_kill_switches(store=db, actor=actor), action=action, motion=motion
    )


def test_an_engaged_switch_applies_to_the_very_next_read(
    db: SqlEngine, clock: Clock, make_user: MakeUser
) -> None:
    ops = make_user(Role.OPS)
    assert killed(db, ops, "call", "sales_outreach") is None
    switch = service.engage_kill_switch(
        store=db,
        actor=ops,
        scope=KillScope.MOTION,
        target="sales_outreach",
        reason="bad list",
        now=clock,
    )
    assert switch.engaged and switch.changed_by == "ops" and switch.changed_at == clock()
    assert killed(db, ops, "call", "sales_outreach") == (
        "kill switch on motion sales_outreach (engaged by ops): bad list"
    )
    assert killed(db, ops, "q4_nurture", "digital_program") is None
    service.release_kill_switch(
        store=db, actor=ops, scope=KillScope.MOTION, target="sales_outreach", now=clock
    )
    assert killed(db, ops, "call", "sales_outreach") is None
    assert service.active_kill_switches(store=db, actor=ops) == []


def test_the_global_switch_needs_no_target(db: SqlEngine, clock: Clock, admin: Actor) -> None:
    switch = service.engage_kill_switch(
        store=db, actor=admin, scope=KillScope.GLOBAL, reason="incident 42", now=clock
    )
    assert switch.key == (KillScope.GLOBAL, GLOBAL_TARGET)
    assert killed(db, admin, "anything", "any_motion")
    with pytest.raises(GovernanceError, match="takes no target"):
        service.engage_kill_switch(
            store=db, actor=admin, scope=KillScope.GLOBAL, target="x", reason="r", now=clock
        )


def test_engaging_needs_a_reason_and_a_target(db: SqlEngine, clock: Clock, admin: Actor) -> None:
    with pytest.raises(GovernanceError, match="needs a reason"):
        service.engage_kill_switch(
            store=db, actor=admin, scope=KillScope.ACTION, target="call", reason=" ", now=clock
        )
    with pytest.raises(GovernanceError, match="needs the action it stops"):
        service.engage_kill_switch(
            store=db, actor=admin, scope=KillScope.ACTION, reason="r", now=clock
        )


def test_releasing_what_is_not_engaged_is_refused(
    db: SqlEngine, clock: Clock, admin: Actor
) -> None:
    with pytest.raises(GovernanceError, match="no kill switch is engaged on action/call"):
        service.release_kill_switch(
            store=db, actor=admin, scope=KillScope.ACTION, target="call", now=clock
        )
    service.engage_kill_switch(
        store=db, actor=admin, scope=KillScope.ACTION, target="call", reason="r", now=clock
    )
    service.release_kill_switch(
        store=db, actor=admin, scope=KillScope.ACTION, target="call", now=clock
    )
    with pytest.raises(GovernanceError):
        service.release_kill_switch(
            store=db, actor=admin, scope=KillScope.ACTION, target="call", now=clock
        )


def test_a_switch_can_be_engaged_again_after_release(
    db: SqlEngine, clock: Clock, admin: Actor
) -> None:
    for reason in ("first", "second"):
        service.engage_kill_switch(
            store=db, actor=admin, scope=KillScope.ACTION, target="call", reason=reason, now=clock
        )
        service.release_kill_switch(
            store=db, actor=admin, scope=KillScope.ACTION, target="call", now=clock
        )
    service.engage_kill_switch(
        store=db, actor=admin, scope=KillScope.ACTION, target="call", reason="third", now=clock
    )
    [switch] = service.active_kill_switches(store=db, actor=admin)
    assert switch.reason == "third"


@pytest.mark.parametrize("role", [Role.APPROVER, Role.REP, Role.VIEWER])
def test_who_may_not_engage(db: SqlEngine, clock: Clock, make_user: MakeUser, role: Role) -> None:
    actor = make_user(role)
    with pytest.raises(AccessDenied, match="may not engage_kill_switch"):
        service.engage_kill_switch(
            store=db, actor=actor, scope=KillScope.GLOBAL, reason="r", now=clock
        )


def test_a_steward_engages_but_cannot_release(
    db: SqlEngine, clock: Clock, make_user: MakeUser
) -> None:
    steward = make_user(Role.STEWARD)
    service.engage_kill_switch(
        store=db, actor=steward, scope=KillScope.MOTION, target="m", reason="r", now=clock
    )
    with pytest.raises(AccessDenied, match="may not release_kill_switch"):
        service.release_kill_switch(
            store=db, actor=steward, scope=KillScope.MOTION, target="m", now=clock
        )


def test_every_role_sees_the_switches(db: SqlEngine, make_user: MakeUser) -> None:
    for role in Role:
        if role is not Role.ADMIN:
            assert service.active_kill_switches(store=db, actor=make_user(role)) == []


def test_switch_changes_are_audited(db: SqlEngine, clock: Clock, admin: Actor) -> None:
    service.engage_kill_switch(
        store=db, actor=admin, scope=KillScope.GLOBAL, reason="incident", now=clock
    )
    service.release_kill_switch(
        store=db, actor=admin, scope=KillScope.GLOBAL, reason="fixed", now=clock
    )
    newest = service.audit_entries(store=db, actor=admin, limit=2)
    assert [(e.action, e.subject, e.details) for e in newest] == [
        ("kill_switch.release", "kill_switch:global", '{"reason":"fixed"}'),
        ("kill_switch.engage", "kill_switch:global", '{"reason":"incident"}'),
    ]


def test_a_database_refusal_becomes_a_store_error_and_changes_nothing(
    db: SqlEngine, clock: Clock, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(*_args: object) -> None:
        raise OperationalError("UPDATE kill_switches", {}, Exception("database is locked"))

    monkeypatch.setattr(KillSwitchRepository, "save", busy)
    with pytest.raises(StoreError, match="database is locked"):
        service.engage_kill_switch(
            store=db, actor=admin, scope=KillScope.GLOBAL, reason="r", now=clock
        )
    monkeypatch.undo()
    assert service.active_kill_switches(store=db, actor=admin) == []
