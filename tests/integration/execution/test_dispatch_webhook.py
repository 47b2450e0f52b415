"""Decisions to a real webhook receiver: configured from YAML, sent through the outbox."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from execution_support import Clock, Receiver, Reply, SimulatedCrash, insert_decisions
from sqlalchemy import Engine as SqlEngine

from nextmove.execution import (
    ConnectorSet,
    Dispatcher,
    OutboxItem,
    OutboxStatus,
    Receipt,
    action_for_decision,
    enqueue,
    list_outbox,
    load_connectors,
)
from nextmove.execution.connectors import SIGNATURE_HEADER
from nextmove.governance import queue_service
from nextmove.governance.model import Actor, Role
from nextmove.store import UnitOfWork

SECRET = "whsec-test"


@pytest.fixture
def configured(tmp_path: Path, receiver: Receiver) -> Iterator[ConnectorSet]:
    path = tmp_path / "connectors.yaml"
    path.write_text(
        f"""
exception_owner: revops
actions:
  sales_outreach: partner_hook
connectors:
  partner_hook:
    type: webhook
    url: {receiver.url}
    secret: env:PARTNER_HOOK_SECRET
    timeout_seconds: 2
    retry: {{max_attempts: 4, base_seconds: 10, max_seconds: 600}}
""",
        encoding="utf-8",
    )
    connectors = load_connectors(path, environ={"PARTNER_HOOK_SECRET": SECRET})
    yield connectors
    connectors.close()


def enqueue_for(db: SqlEngine, clock: Clock, connectors: ConnectorSet, accounts: list[str]) -> None:
    decisions = insert_decisions(db, clock(), accounts)
    with UnitOfWork(db) as uow:
        actions = [
            action_for_decision(d, connector=connectors.connector_for(str(d["action"])))
            for d in decisions
        ]
        enqueue(uow.connection, actions, now=clock())
        uow.commit()


def items(db: SqlEngine) -> list[OutboxItem]:
    with db.connect() as connection:
        return list_outbox(connection)


def signed(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_decisions_reach_the_webhook_signed_and_are_marked_sent(
    db: SqlEngine, clock: Clock, receiver: Receiver, configured: ConnectorSet
) -> None:
    enqueue_for(db, clock, configured, ["a1", "a2"])
    report = Dispatcher(database=db, connectors=configured).dispatch_due(now=clock)

    assert report.sent == 2
    assert sorted(r.json()["account_id"] for r in receiver.requests) == ["a1", "a2"]
    for request in receiver.requests:
        assert request.headers[SIGNATURE_HEADER] == signed(request.body)
    stored = items(db)
    assert {i.idempotency_key for i in stored} == {
        r.headers["Idempotency-Key"] for r in receiver.requests
    }
    assert all(i.status is OutboxStatus.SENT and i.receipt for i in stored)
    assert all(i.receipt and i.receipt["reference"] == "task-1" for i in stored)


def test_a_4xx_is_not_retried_and_opens_an_exception(
    db: SqlEngine, clock: Clock, receiver: Receiver, configured: ConnectorSet
) -> None:
    receiver.answer(Reply(status=422, body=b'{"error": "owner does not exist"}'))
    enqueue_for(db, clock, configured, ["a1"])
    dispatcher = Dispatcher(database=db, connectors=configured)

    assert dispatcher.dispatch_due(now=clock).dead == 1
    for _ in range(3):
        clock.now += timedelta(hours=6)
        dispatcher.dispatch_due(now=clock)

    assert len(receiver.requests) == 1
    (item,) = items(db)
    assert item.status is OutboxStatus.DEAD and item.attempts == 1
    (exception,) = queue_service.list_exceptions(
        store=db, actor=Actor(user_id="ops", role=Role.OPS)
    )
    assert exception.owner == "revops" and "partner_hook" in exception.summary
    assert "HTTP 422" in exception.summary and "owner does not exist" in exception.summary


def test_a_5xx_is_retried_with_the_identical_request(
    db: SqlEngine, clock: Clock, receiver: Receiver, configured: ConnectorSet
) -> None:
    receiver.answer(Reply(status=503, body=b"maintenance"))
    enqueue_for(db, clock, configured, ["a1"])
    dispatcher = Dispatcher(database=db, connectors=configured)

    assert dispatcher.dispatch_due(now=clock).retrying == 1
    (item,) = items(db)
    assert item.next_attempt_at is not None
    assert item.next_attempt_at - clock() <= timedelta(seconds=10)
    clock.now = item.next_attempt_at
    assert dispatcher.dispatch_due(now=clock).sent == 1

    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]


@dataclass
class CrashAfterFirstSend:
    """The real webhook connector, with the process dying right after the first delivery."""

    inner: ConnectorSet
    crashed: bool = False
    name: str = "partner_hook"

    def send(self, item: OutboxItem) -> Receipt:
        connector = self.inner.get(self.name)
        assert connector is not None
        receipt = connector.send(item)
        if not self.crashed:
            self.crashed = True
            raise SimulatedCrash
        return receipt

    def close(self) -> None:
        return None


def test_after_a_crash_between_send_and_record_the_receiver_sees_the_same_key_and_body(
    db: SqlEngine, clock: Clock, receiver: Receiver, configured: ConnectorSet
) -> None:
    enqueue_for(db, clock, configured, ["a1"])
    crashing = ConnectorSet(connectors={"partner_hook": CrashAfterFirstSend(configured)})
    with pytest.raises(SimulatedCrash):
        Dispatcher(database=db, connectors=crashing).dispatch_due(now=clock)
    assert len(receiver.requests) == 1
    assert items(db)[0].status is OutboxStatus.SENDING

    clock.now += timedelta(minutes=6)  # past the lease: the restarted process takes over
    assert Dispatcher(database=db, connectors=crashing).dispatch_due(now=clock).sent == 1

    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.headers[SIGNATURE_HEADER] == second.headers[SIGNATURE_HEADER]
    (item,) = items(db)
    assert item.status is OutboxStatus.SENT and item.attempts == 2
