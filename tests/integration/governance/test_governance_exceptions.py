"""The exception queue: opened with an owner, resolved by someone trusted to."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import pytest
from sqlalchemy import Engine as SqlEngine

from nextmove.errors import AccessDenied, GovernanceError, NotFound
from nextmove.governance import queue_service as queue
from nextmove.governance import service
from nextmove.governance.model import Actor, ExceptionItem, ExceptionKind, ExceptionStatus, Role

MakeUser = Callable[..., Actor]


class Clock(Protocol):
    now: datetime

    def __call__(self) -> datetime: ...


def open_one(
    db: SqlEngine, clock: Clock, actor: Actor, *, owner: str = "steward", kind: str = "data_quality"
) -> ExceptionItem:
    return queue.open_exception(
        store=db,
        actor=actor,
        kind=ExceptionKind(kind),
        summary="12 accounts have no owner",
        details={"accounts": ["a1", "a2"], "rule": "ownership"},
        owner=owner,
        account_id="a1",
        now=clock,
    )


def test_an_exception_is_opened_with_its_owner_and_audited(
    db: SqlEngine, clock: Clock, make_user: MakeUser, admin: Actor
) -> None:
    ops = make_user(Role.OPS)
    item = open_one(db, clock, ops)
    assert item.exception_id > 0 and item.status is ExceptionStatus.OPEN
    assert item.owner == "steward" and item.created_at == clock()
    assert item.details == {"accounts": ["a1", "a2"], "rule": "ownership"}
    assert queue.get_exception(store=db, actor=ops, exception_id=item.exception_id) == item
    entry = service.audit_entries(store=db, actor=admin, limit=1)[0]
    assert (entry.action, entry.actor) == ("exception.open", "ops")
    assert json.loads(entry.details)["summary"] == "12 accounts have no owner"


def test_resolving_needs_a_resolution_and_happens_once(
    db: SqlEngine, clock: Clock, make_user: MakeUser, admin: Actor
) -> None:
    steward = make_user(Role.STEWARD)
    item = open_one(db, clock, steward)
    with pytest.raises(GovernanceError, match="needs a resolution"):
        queue.resolve_exception(
            store=db, actor=steward, exception_id=item.exception_id, resolution=" ", now=clock
        )
    clock.now += timedelta(hours=3)
    resolved = queue.resolve_exception(
        store=db,
        actor=steward,
        exception_id=item.exception_id,
        resolution="owners assigned in CRM",
        now=clock,
    )
    assert resolved.status is ExceptionStatus.RESOLVED
    assert (resolved.resolved_by, resolved.resolved_at) == ("steward", clock())
    assert queue.get_exception(store=db, actor=steward, exception_id=item.exception_id) == resolved
    with pytest.raises(GovernanceError, match="already resolved"):
        queue.resolve_exception(
            store=db, actor=steward, exception_id=item.exception_id, resolution="x", now=clock
        )
    entry = service.audit_entries(store=db, actor=admin, limit=1)[0]
    assert entry.action == "exception.resolve" and entry.occurred_at == clock()


def test_list_filters_by_status_and_owner(
    db: SqlEngine, clock: Clock, admin: Actor, make_user: MakeUser
) -> None:
    viewer = make_user(Role.VIEWER)
    first = open_one(db, clock, admin, owner="steward")
    second = open_one(db, clock, admin, owner="ops", kind="rule_conflict")
    queue.resolve_exception(
        store=db, actor=admin, exception_id=first.exception_id, resolution="done", now=clock
    )
    open_items = queue.list_exceptions(store=db, actor=viewer, status=ExceptionStatus.OPEN)
    assert [i.exception_id for i in open_items] == [second.exception_id]
    mine = queue.list_exceptions(store=db, actor=viewer, owner="steward")
    assert [i.exception_id for i in mine] == [first.exception_id]
    assert len(queue.list_exceptions(store=db, actor=viewer)) == 2


def test_missing_exceptions_and_empty_fields(db: SqlEngine, clock: Clock, admin: Actor) -> None:
    with pytest.raises(NotFound):
        queue.get_exception(store=db, actor=admin, exception_id=404)
    with pytest.raises(NotFound):
        queue.resolve_exception(store=db, actor=admin, exception_id=404, resolution="x", now=clock)
    with pytest.raises(GovernanceError, match="summary and an owner"):
        open_one(db, clock, admin, owner=" ")


@pytest.mark.parametrize("role", [Role.APPROVER, Role.REP, Role.VIEWER])
def test_who_may_not_resolve(db: SqlEngine, clock: Clock, make_user: MakeUser, role: Role) -> None:
    actor = make_user(role)
    item = open_one(db, clock, make_user(Role.OPS, "olga"))
    with pytest.raises(AccessDenied, match="may not resolve_exception"):
        queue.resolve_exception(
            store=db, actor=actor, exception_id=item.exception_id, resolution="x", now=clock
        )


def test_viewers_may_not_open_exceptions(db: SqlEngine, clock: Clock, make_user: MakeUser) -> None:
    with pytest.raises(AccessDenied, match="may not open_exception"):
        open_one(db, clock, make_user(Role.VIEWER))
