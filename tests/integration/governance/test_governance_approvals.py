"""The approval queue: request, approve, four-eyes, reject, edit, expire."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import pytest
from sqlalchemy import Engine as SqlEngine

from nextmove.errors import AccessDenied, GovernanceError, NotFound, StoreError
from nextmove.governance import queue_service as queue
from nextmove.governance import service
from nextmove.governance.model import Actor, Approval, ApprovalStatus, Role
from nextmove.store import UnitOfWork

MakeUser = Callable[..., Actor]


class Clock(Protocol):
    now: datetime

    def __call__(self) -> datetime: ...


def request(
    db: SqlEngine, clock: Clock, actor: Actor, *, required: int = 1, hours: int = 48
) -> Approval:
    return queue.request_approval(
        store=db,
        actor=actor,
        account_id="acct-1",
        action="sales_outreach",
        product_id="prod-analytics",
        payload={"discount": 0.1, "message": "Hello"},
        value=25_000.0,
        expires_at=clock() + timedelta(hours=hours),
        required_approvers=required,
        now=clock,
    )


@pytest.fixture
def rep(make_user: MakeUser) -> Actor:
    return make_user(Role.REP)


@pytest.fixture
def approver(make_user: MakeUser) -> Actor:
    return make_user(Role.APPROVER)


def test_a_request_is_stored_pending_and_audited(
    db: SqlEngine, clock: Clock, rep: Actor, admin: Actor
) -> None:
    approval = request(db, clock, rep)
    assert approval.approval_id > 0 and approval.status is ApprovalStatus.PENDING
    assert approval.requested_by == "rep" and approval.requested_at == clock()
    assert queue.get_approval(store=db, actor=admin, approval_id=approval.approval_id) == approval
    entry = service.audit_entries(store=db, actor=admin, limit=1)[0]
    assert (entry.action, entry.actor, entry.subject) == (
        "approval.request",
        "rep",
        f"approval:{approval.approval_id}",
    )
    assert json.loads(entry.details)["payload"] == {"discount": 0.1, "message": "Hello"}


def test_an_approver_approves(
    db: SqlEngine, clock: Clock, rep: Actor, approver: Actor, admin: Actor
) -> None:
    approval = request(db, clock, rep)
    done = queue.approve(store=db, actor=approver, approval_id=approval.approval_id, now=clock)
    assert done.status is ApprovalStatus.APPROVED and done.approvers == ("approver",)
    assert done.decided_by == "approver" and done.decided_at == clock()
    assert queue.get_approval(store=db, actor=admin, approval_id=approval.approval_id) == done
    entry = service.audit_entries(store=db, actor=admin, limit=1)[0]
    assert entry.action == "approval.approve" and json.loads(entry.details)["status"] == "approved"


def test_the_requester_can_never_approve_their_own(
    db: SqlEngine, clock: Clock, admin: Actor
) -> None:
    approval = request(db, clock, admin)
    with pytest.raises(GovernanceError, match="cannot approve it"):
        queue.approve(store=db, actor=admin, approval_id=approval.approval_id, now=clock)
    with pytest.raises(GovernanceError, match="cannot approve it"):
        queue.edit_and_approve(
            store=db,
            actor=admin,
            approval_id=approval.approval_id,
            payload_changes={"discount": 0.0},
            now=clock,
        )
    stored = queue.get_approval(store=db, actor=admin, approval_id=approval.approval_id)
    assert stored == approval  # the refused edit changed nothing


def test_four_eyes_completes_on_the_second_distinct_approver(
    db: SqlEngine, clock: Clock, rep: Actor, approver: Actor, make_user: MakeUser
) -> None:
    second = make_user(Role.APPROVER, "bea")
    approval = request(db, clock, rep, required=2)
    half = queue.approve(store=db, actor=approver, approval_id=approval.approval_id, now=clock)
    assert half.status is ApprovalStatus.PENDING and half.approvers == ("approver",)
    with pytest.raises(GovernanceError, match="second, different approver"):
        queue.approve(store=db, actor=approver, approval_id=approval.approval_id, now=clock)
    done = queue.approve(store=db, actor=second, approval_id=approval.approval_id, now=clock)
    assert done.status is ApprovalStatus.APPROVED and done.approvers == ("approver", "bea")


def test_a_rejection_needs_a_reason_and_closes_the_request(
    db: SqlEngine, clock: Clock, rep: Actor, approver: Actor
) -> None:
    approval = request(db, clock, rep)
    with pytest.raises(GovernanceError, match="needs a reason"):
        queue.reject(
            store=db, actor=approver, approval_id=approval.approval_id, reason="", now=clock
        )
    done = queue.reject(
        store=db, actor=approver, approval_id=approval.approval_id, reason="too generous", now=clock
    )
    assert done.status is ApprovalStatus.REJECTED and done.reason == "too generous"
    with pytest.raises(GovernanceError, match="is rejected; only pending"):
        queue.approve(store=db, actor=approver, approval_id=approval.approval_id, now=clock)


def test_edit_and_approve_keeps_before_and_after_in_the_audit(
    db: SqlEngine, clock: Clock, rep: Actor, approver: Actor, admin: Actor
) -> None:
    approval = request(db, clock, rep)
    done = queue.edit_and_approve(
        store=db,
        actor=approver,
        approval_id=approval.approval_id,
        payload_changes={"discount": 0.05},
        now=clock,
    )
    assert done.status is ApprovalStatus.APPROVED
    assert done.payload == {"discount": 0.05, "message": "Hello"}
    approve_entry, edit_entry = service.audit_entries(store=db, actor=admin, limit=2)
    assert (edit_entry.action, approve_entry.action) == ("approval.edit", "approval.approve")
    assert json.loads(edit_entry.details) == {
        "before": {"discount": 0.1, "message": "Hello"},
        "after": {"discount": 0.05, "message": "Hello"},
        "voided_approvers": [],
    }


def test_an_edit_under_four_eyes_needs_two_approvals_of_the_edited_payload(
    db: SqlEngine, clock: Clock, rep: Actor, approver: Actor, make_user: MakeUser
) -> None:
    second = make_user(Role.APPROVER, "bea")
    approval = request(db, clock, rep, required=2)
    queue.approve(store=db, actor=approver, approval_id=approval.approval_id, now=clock)
    edited = queue.edit_and_approve(
        store=db,
        actor=second,
        approval_id=approval.approval_id,
        payload_changes={"message": "Hi"},
        now=clock,
    )
    assert edited.status is ApprovalStatus.PENDING and edited.approvers == ("bea",)
    done = queue.approve(store=db, actor=approver, approval_id=approval.approval_id, now=clock)
    assert done.status is ApprovalStatus.APPROVED and done.payload["message"] == "Hi"


def test_an_expired_request_cannot_be_approved(
    db: SqlEngine, clock: Clock, rep: Actor, approver: Actor, admin: Actor
) -> None:
    approval = request(db, clock, rep, hours=1)
    keep = request(db, clock, rep, hours=5)
    clock.now += timedelta(hours=2)
    with pytest.raises(GovernanceError, match="expired at"):
        queue.approve(store=db, actor=approver, approval_id=approval.approval_id, now=clock)
    expired = queue.expire_due(store=db, now=clock)
    assert [item.approval_id for item in expired] == [approval.approval_id]
    assert expired[0].status is ApprovalStatus.EXPIRED and expired[0].decided_at == clock()
    with pytest.raises(GovernanceError, match="is expired; only pending"):
        queue.approve(store=db, actor=approver, approval_id=approval.approval_id, now=clock)
    assert queue.expire_due(store=db, now=clock) == []
    entry = service.audit_entries(store=db, actor=admin, action="approval.expire")[0]
    assert entry.actor == "system"
    still = queue.get_approval(store=db, actor=admin, approval_id=keep.approval_id)
    assert still.status is ApprovalStatus.PENDING


def test_list_by_status_and_missing_ids(
    db: SqlEngine, clock: Clock, rep: Actor, approver: Actor
) -> None:
    first, second = request(db, clock, rep), request(db, clock, rep)
    queue.approve(store=db, actor=approver, approval_id=first.approval_id, now=clock)
    pending = queue.list_approvals(store=db, actor=approver, status=ApprovalStatus.PENDING)
    assert [a.approval_id for a in pending] == [second.approval_id]
    assert len(queue.list_approvals(store=db, actor=approver)) == 2
    with pytest.raises(NotFound):
        queue.get_approval(store=db, actor=approver, approval_id=999)
    with pytest.raises(NotFound):
        queue.approve(store=db, actor=approver, approval_id=999, now=clock)


@pytest.mark.parametrize("required, hours", [(3, 48), (0, 48), (1, -1)])
def test_impossible_requests_are_refused(
    db: SqlEngine, clock: Clock, rep: Actor, admin: Actor, required: int, hours: int
) -> None:
    with pytest.raises(GovernanceError):
        request(db, clock, rep, required=required, hours=hours)
    assert queue.list_approvals(store=db, actor=admin) == []


def test_a_malformed_request_is_refused_with_its_problems(
    db: SqlEngine, clock: Clock, rep: Actor
) -> None:
    with pytest.raises(GovernanceError, match="invalid approval request: account_id"):
        queue.request_approval(
            store=db,
            actor=rep,
            account_id="",
            action="sales_outreach",
            payload={},
            expires_at=clock() + timedelta(hours=1),
            now=clock,
        )


@pytest.mark.parametrize("role", [Role.OPS, Role.STEWARD, Role.REP, Role.VIEWER])
def test_who_may_not_approve(
    db: SqlEngine, clock: Clock, rep: Actor, make_user: MakeUser, role: Role
) -> None:
    approval = request(db, clock, rep)
    actor = rep if role is Role.REP else make_user(role)
    for attempt in (
        lambda: queue.approve(store=db, actor=actor, approval_id=approval.approval_id, now=clock),
        lambda: queue.reject(
            store=db, actor=actor, approval_id=approval.approval_id, reason="r", now=clock
        ),
        lambda: queue.edit_and_approve(
            store=db,
            actor=actor,
            approval_id=approval.approval_id,
            payload_changes={"x": 1},
            now=clock,
        ),
    ):
        with pytest.raises(AccessDenied, match="may not approve"):
            attempt()


@pytest.mark.parametrize("role", [Role.STEWARD, Role.APPROVER, Role.VIEWER])
def test_who_may_not_request(db: SqlEngine, clock: Clock, make_user: MakeUser, role: Role) -> None:
    with pytest.raises(AccessDenied, match="may not request_approval"):
        request(db, clock, make_user(role))


def test_a_request_joins_the_callers_transaction(
    db: SqlEngine, clock: Clock, rep: Actor, admin: Actor
) -> None:
    with UnitOfWork(db) as uow:
        request(uow, clock, rep)  # type: ignore[arg-type]
        uow.rollback()
    assert queue.list_approvals(store=db, actor=admin) == []
    assert service.audit_entries(store=db, actor=admin, action="approval.request") == []
    with UnitOfWork(db) as uow:
        request(uow, clock, rep)  # type: ignore[arg-type]
        uow.commit()
    assert len(queue.list_approvals(store=db, actor=admin)) == 1
    assert service.verify_audit(store=db, actor=admin).ok


def test_concurrent_four_eyes_approvals_never_lose_one(
    db: SqlEngine, clock: Clock, rep: Actor, approver: Actor, make_user: MakeUser
) -> None:
    people = [approver, make_user(Role.APPROVER, "bea")]
    approval = request(db, clock, rep, required=2)
    barrier = threading.Barrier(2)
    errors: list[Exception] = []
    succeeded: list[str] = []

    def work(actor: Actor) -> None:
        barrier.wait()
        try:
            queue.approve(store=db, actor=actor, approval_id=approval.approval_id, now=clock)
            succeeded.append(actor.user_id)
        except Exception as exc:  # collected: a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = queue.get_approval(store=db, actor=approver, approval_id=approval.approval_id)
    assert set(done.approvers) == set(succeeded)  # no approval counted and then lost
    if db.dialect.name == "postgresql":
        assert errors == []  # the row lock queues the second approver
        assert done.status is ApprovalStatus.APPROVED
    else:  # SQLite may refuse the racing writer outright, cleanly
        assert all(isinstance(e, StoreError) for e in errors) and succeeded
