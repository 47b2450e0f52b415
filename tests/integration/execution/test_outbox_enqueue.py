"""Enqueueing: in the caller's transaction, keyed by decision and connector, payload frozen."""

from __future__ import annotations

import pytest
from execution_support import Clock, insert_decisions
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, select

from nextmove.execution import (
    NewAction,
    OutboxStatus,
    action_for_decision,
    enqueue,
    get_outbox_item,
    idempotency_key,
    list_outbox,
    outbox_counts,
)
from nextmove.execution.errors import ExecutionError
from nextmove.store import UnitOfWork
from nextmove.store import tables as t


def _stored(db: SqlEngine) -> int:
    with db.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(t.outbox)).scalar_one())


def test_enqueueing_the_same_decisions_twice_is_a_no_op(db: SqlEngine, clock: Clock) -> None:
    decisions = insert_decisions(db, clock(), ["a1", "a2", "a3"])
    actions = [action_for_decision(d, connector="crm_tasks") for d in decisions]
    with UnitOfWork(db) as uow:
        first = enqueue(uow.connection, actions, now=clock())
        uow.commit()
    assert len(first.inserted) == 3 and first.duplicates == 0
    assert set(first.inserted) == {
        idempotency_key(f"decision:{d['decision_id']}", "crm_tasks") for d in decisions
    }

    clock.now = clock.now.replace(hour=17)
    changed = [
        action_for_decision(d, connector="crm_tasks", extra={"note": "second try"})
        for d in decisions
    ]
    with UnitOfWork(db) as uow:
        again = enqueue(uow.connection, changed, now=clock())
        uow.commit()
    assert again.inserted == () and again.duplicates == 3
    assert _stored(db) == 3
    with db.connect() as connection:
        items = list_outbox(connection)
    # the first enqueue fixed the payload and the due time; the repeat changed nothing
    assert all("note" not in item.payload for item in items)
    assert all(item.created_at.hour == 9 and item.status is OutboxStatus.PENDING for item in items)


def test_the_same_decision_through_another_connector_is_another_item(
    db: SqlEngine, clock: Clock
) -> None:
    (decision,) = insert_decisions(db, clock(), ["a1"])
    with UnitOfWork(db) as uow:
        result = enqueue(
            uow.connection,
            [
                action_for_decision(decision, connector="crm_tasks"),
                action_for_decision(decision, connector="team_chat"),
                action_for_decision(decision, connector="crm_tasks"),
            ],
            now=clock(),
        )
        uow.commit()
    assert len(result.inserted) == 2 and result.duplicates == 1


def test_an_action_is_written_only_if_its_transaction_commits(db: SqlEngine, clock: Clock) -> None:
    (decision,) = insert_decisions(db, clock(), ["a1"])
    with UnitOfWork(db) as uow:
        enqueue(uow.connection, [action_for_decision(decision, connector="x")], now=clock())
        # no commit: the decision's transaction failed, so no action may leave
    assert _stored(db) == 0


def test_the_stored_item_carries_the_decision_and_its_routing(db: SqlEngine, clock: Clock) -> None:
    (decision,) = insert_decisions(db, clock(), ["a1"])
    action = action_for_decision(decision, connector="crm_tasks", extra={"to": "cfo@a1.example"})
    with UnitOfWork(db) as uow:
        (key,) = enqueue(uow.connection, [action], now=clock()).inserted
        uow.commit()
    with db.connect() as connection:
        item = get_outbox_item(connection, key=key)
        counts = outbox_counts(connection)
    assert item is not None
    assert (item.decision_id, item.run_id) == (decision["decision_id"], decision["run_id"])
    assert (item.account_id, item.action, item.product_id) == (
        "a1",
        "sales_outreach",
        "prod-analytics-pro",
    )
    assert item.assignee == "owner-a1" and item.attempts == 0
    assert item.next_attempt_at == clock() and item.created_at == clock()
    assert item.payload["to"] == "cfo@a1.example"
    assert item.payload["expected_value"] == decision["expected_value"]
    assert item.payload["reasons"] == [{"code": "intent", "text": "asked for pricing"}]
    assert counts == {OutboxStatus.PENDING: 1}


def test_actions_without_a_decision_are_keyed_by_their_source(db: SqlEngine, clock: Clock) -> None:
    action = NewAction(
        account_id="a9",
        action="service_conversation",
        connector="crm_tasks",
        payload={"approved_by": "ana"},
        source="approval:17",
    )
    with UnitOfWork(db) as uow:
        first = enqueue(uow.connection, [action], now=clock())
        second = enqueue(uow.connection, [action], now=clock())
        uow.commit()
    assert first.inserted == (idempotency_key("approval:17", "crm_tasks"),)
    assert second.duplicates == 1
    with pytest.raises(ValueError, match="source"):
        NewAction(account_id="a9", action="x", connector="c", payload={}).key()


def test_a_payload_that_is_not_plain_json_is_refused(db: SqlEngine, clock: Clock) -> None:
    bad = NewAction(
        account_id="a1",
        action="x",
        connector="c",
        payload={"value": float("nan")},
        source="manual:1",
    )
    with UnitOfWork(db) as uow, pytest.raises(ExecutionError, match="not plain JSON"):
        enqueue(uow.connection, [bad], now=clock())
