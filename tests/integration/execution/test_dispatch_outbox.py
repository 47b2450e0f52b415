"""The dispatcher on a real database: send, retry, give up, stop, limit, recover a crash."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from execution_support import Clock, ScriptedConnector, SimulatedCrash, insert_decisions
from sqlalchemy import Engine as SqlEngine

from nextmove.execution import (
    ConnectorSet,
    Dispatcher,
    OutboxItem,
    OutboxStatus,
    PermanentSendError,
    RateLimit,
    RetryableSendError,
    RetryPolicy,
    action_for_decision,
    dispatch_due,
    enqueue,
    kill_switch_check,
    list_outbox,
)
from nextmove.execution.repository import OutboxRepository
from nextmove.governance import queue_service, service
from nextmove.governance.model import (
    Actor,
    ExceptionKind,
    ExceptionStatus,
    KillScope,
    Role,
)
from nextmove.store import UnitOfWork

POLICY = RetryPolicy(
    max_attempts=3, base_delay=timedelta(seconds=60), max_delay=timedelta(minutes=30)
)
VIEWER = Actor(user_id="auditor", role=Role.VIEWER)


def connectors(connector: ScriptedConnector, *, limit: RateLimit | None = None) -> ConnectorSet:
    return ConnectorSet(
        connectors={connector.name: connector},
        policies={connector.name: POLICY},
        limits={connector.name: limit} if limit else {},
        exception_owner="revops",
    )


def add_items(
    db: SqlEngine,
    clock: Clock,
    accounts: list[str],
    *,
    action: str = "sales_outreach",
    connector: str = "scripted",
) -> list[str]:
    decisions = insert_decisions(db, clock(), accounts, action=action)
    with UnitOfWork(db) as uow:
        actions = [action_for_decision(d, connector=connector) for d in decisions]
        keys = enqueue(uow.connection, actions, now=clock()).inserted
        uow.commit()
    return list(keys)


def stored(db: SqlEngine) -> dict[str, OutboxItem]:
    with db.connect() as connection:
        return {item.account_id: item for item in list_outbox(connection)}


def test_due_items_are_sent_once_and_their_receipts_recorded(db: SqlEngine, clock: Clock) -> None:
    connector = ScriptedConnector()
    add_items(db, clock, ["a1", "a2", "a3"])
    dispatcher = Dispatcher(database=db, connectors=connectors(connector))

    report = dispatcher.dispatch_due(now=clock)

    assert report.sent == 3 and report.claimed == 3
    assert sorted(item.account_id for item in connector.sent) == ["a1", "a2", "a3"]
    for item in stored(db).values():
        assert item.status is OutboxStatus.SENT and item.attempts == 1
        assert item.sent_at == clock() and item.next_attempt_at is None
        assert item.receipt == {"reference": f"ref-{item.outbox_id}", "details": {"attempt": 1}}
    clock.now += timedelta(days=1)
    assert dispatcher.dispatch_due(now=clock).claimed == 0
    assert len(connector.attempts) == 3


def test_a_retryable_failure_waits_a_jittered_backoff_then_is_sent(
    db: SqlEngine, clock: Clock
) -> None:
    connector = ScriptedConnector().fail(RetryableSendError("HTTP 503 from the CRM"))
    add_items(db, clock, ["a1"])
    dispatcher = Dispatcher(database=db, connectors=connectors(connector), seed=7)
    start = clock()

    assert dispatcher.dispatch_due(now=clock).retrying == 1
    item = stored(db)["a1"]
    assert item.status is OutboxStatus.FAILED and item.attempts == 1
    assert item.last_error == "HTTP 503 from the CRM"
    assert item.next_attempt_at is not None
    assert start + timedelta(seconds=30) <= item.next_attempt_at <= start + timedelta(seconds=60)

    clock.now = item.next_attempt_at - timedelta(seconds=1)
    assert dispatcher.dispatch_due(now=clock).claimed == 0  # not due yet
    clock.now = item.next_attempt_at
    assert dispatcher.dispatch_due(now=clock).sent == 1
    item = stored(db)["a1"]
    assert item.status is OutboxStatus.SENT and item.attempts == 2 and item.last_error is None
    assert [sent.attempts for sent in connector.attempts] == [1, 2]


def test_after_the_last_attempt_the_item_is_dead_and_an_exception_names_it(
    db: SqlEngine, clock: Clock
) -> None:
    connector = ScriptedConnector().fail(*[RetryableSendError("timed out after 10s")] * 3)
    add_items(db, clock, ["a1"])
    dispatcher = Dispatcher(database=db, connectors=connectors(connector))

    reports = []
    for _ in range(3):
        reports.append(dispatcher.dispatch_due(now=clock))
        clock.now += timedelta(hours=1)
    assert [(r.retrying, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1)]

    item = stored(db)["a1"]
    assert item.status is OutboxStatus.DEAD and item.attempts == 3
    assert item.next_attempt_at is None and item.exception_id == reports[-1].exceptions[0]
    (exception,) = queue_service.list_exceptions(store=db, actor=VIEWER)
    assert exception.exception_id == item.exception_id
    assert exception.kind is ExceptionKind.EXECUTION_FAILURE
    assert exception.status is ExceptionStatus.OPEN and exception.owner == "revops"
    assert exception.account_id == "a1"
    for word in ("sales_outreach", "a1", "scripted", "timed out after 10s"):
        assert word in exception.summary
    assert exception.details["connector"] == "scripted"
    assert exception.details["action"] == "sales_outreach"
    assert exception.details["attempts"] == 3
    assert exception.details["last_error"] == "timed out after 10s (gave up after 3 attempts)"
    assert exception.details["idempotency_key"] == item.idempotency_key

    clock.now += timedelta(days=7)
    assert dispatcher.dispatch_due(now=clock).claimed == 0
    assert len(connector.attempts) == 3


def test_a_permanent_failure_is_not_retried(db: SqlEngine, clock: Clock) -> None:
    connector = ScriptedConnector().fail(PermanentSendError("HTTP 422: unknown owner"))
    add_items(db, clock, ["a1", "a2"])
    dispatcher = Dispatcher(database=db, connectors=connectors(connector))

    report = dispatcher.dispatch_due(now=clock)
    assert (report.sent, report.dead, report.retrying) == (1, 1, 0)
    dead = [item for item in stored(db).values() if item.status is OutboxStatus.DEAD]
    assert len(dead) == 1 and dead[0].attempts == 1
    assert dead[0].last_error == "HTTP 422: unknown owner"
    clock.now += timedelta(days=2)
    assert dispatcher.dispatch_due(now=clock).claimed == 0
    assert len(connector.attempts) == 2
    (exception,) = queue_service.list_exceptions(store=db, actor=VIEWER)
    assert "HTTP 422: unknown owner" in exception.summary


def test_an_unexpected_connector_error_is_given_up_on(db: SqlEngine, clock: Clock) -> None:
    connector = ScriptedConnector().fail(KeyError("email"))
    add_items(db, clock, ["a1"])
    report = Dispatcher(database=db, connectors=connectors(connector)).dispatch_due(now=clock)
    assert report.dead == 1
    item = stored(db)["a1"]
    assert item.last_error is not None and "unexpected KeyError" in item.last_error


def test_kill_switched_actions_are_left_untouched(db: SqlEngine, clock: Clock) -> None:
    admin, _ = service.bootstrap_admin(store=db, user_id="root", name="Root", now=clock)
    connector = ScriptedConnector()
    # the stopped action's items are the oldest: they would be claimed first
    add_items(db, clock, ["b1", "b2"], action="digital_program")
    add_items(db, clock, ["a1", "a2"], action="sales_outreach")
    service.engage_kill_switch(
        store=db,
        actor=admin.as_actor(),
        scope=KillScope.ACTION,
        target="digital_program",
        reason="complaints about the nurture",
        now=clock,
    )
    dispatcher = Dispatcher(database=db, connectors=connectors(connector))
    switches = service.active_kill_switches(store=db, actor=admin.as_actor())

    report = dispatcher.dispatch_due(now=clock, stopped=kill_switch_check(switches))

    assert report.sent == 2 and report.stopped == {"digital_program": 2}
    assert {item.account_id for item in connector.sent} == {"a1", "a2"}
    items = stored(db)
    for account in ("b1", "b2"):
        assert items[account].status is OutboxStatus.PENDING
        assert items[account].attempts == 0 and items[account].claimed_at is None

    service.release_kill_switch(
        store=db,
        actor=admin.as_actor(),
        scope=KillScope.ACTION,
        target="digital_program",
        now=clock,
    )
    switches = service.active_kill_switches(store=db, actor=admin.as_actor())
    assert dispatcher.dispatch_due(now=clock, stopped=kill_switch_check(switches)).sent == 2


def test_a_global_stop_leaves_everything(db: SqlEngine, clock: Clock) -> None:
    connector = ScriptedConnector()
    add_items(db, clock, ["a1"])
    report = Dispatcher(database=db, connectors=connectors(connector)).dispatch_due(
        now=clock, stopped=lambda action: "global kill switch"
    )
    assert report.claimed == 0 and report.stopped == {"sales_outreach": 1}
    assert connector.attempts == []


def test_items_beyond_the_rate_limit_stay_due_for_a_later_pass(db: SqlEngine, clock: Clock) -> None:
    connector = ScriptedConnector()
    add_items(db, clock, ["a1", "a2", "a3", "a4", "a5"])
    limit = RateLimit.per(2, 60)  # two a minute, two at once
    dispatcher = Dispatcher(database=db, connectors=connectors(connector, limit=limit))

    first = dispatcher.dispatch_due(now=clock)
    assert first.sent == 2 and first.deferred == {"scripted": 3}
    waiting = [i for i in stored(db).values() if i.status is OutboxStatus.PENDING]
    assert len(waiting) == 3 and all(i.attempts == 0 for i in waiting)

    assert dispatcher.dispatch_due(now=clock).sent == 0
    clock.now += timedelta(seconds=30)
    assert dispatcher.dispatch_due(now=clock).sent == 1
    clock.now += timedelta(seconds=60)
    assert dispatcher.dispatch_due(now=clock).sent == 2
    assert len(connector.sent) == 5
    assert len({item.outbox_id for item in connector.sent}) == 5


def test_a_pass_takes_at_most_its_batch(db: SqlEngine, clock: Clock) -> None:
    connector = ScriptedConnector()
    add_items(db, clock, ["a1", "a2", "a3"])
    dispatcher = Dispatcher(database=db, connectors=connectors(connector), batch_size=2)
    report = dispatcher.dispatch_due(now=clock)
    assert report.sent == 2 and report.deferred == {"scripted": 1}
    assert dispatcher.dispatch_due(now=clock).sent == 1


def test_items_for_an_unconfigured_connector_stay_due(db: SqlEngine, clock: Clock) -> None:
    add_items(db, clock, ["a1"], connector="retired_crm")
    report = Dispatcher(database=db, connectors=connectors(ScriptedConnector())).dispatch_due(
        now=clock
    )
    assert report.unknown_connector == {"retired_crm": 1} and report.claimed == 0
    assert stored(db)["a1"].status is OutboxStatus.PENDING


def test_a_crash_mid_send_is_recovered_by_resending_after_the_lease(
    db: SqlEngine, clock: Clock
) -> None:
    def crash(item: OutboxItem) -> None:
        connector.after = None
        raise SimulatedCrash

    connector = ScriptedConnector(after=crash)
    add_items(db, clock, ["a1"])
    lease = timedelta(minutes=5)
    with pytest.raises(SimulatedCrash):
        Dispatcher(database=db, connectors=connectors(connector), lease=lease).dispatch_due(
            now=clock
        )
    stuck = stored(db)["a1"]
    assert stuck.status is OutboxStatus.SENDING and stuck.attempts == 1

    restarted = Dispatcher(database=db, connectors=connectors(connector), lease=lease)
    clock.now += lease - timedelta(seconds=1)
    assert restarted.dispatch_due(now=clock).claimed == 0  # the lease still holds
    clock.now += timedelta(seconds=1)
    assert restarted.dispatch_due(now=clock).sent == 1

    first, second = connector.sent
    assert first.idempotency_key == second.idempotency_key
    assert first.payload == second.payload and (first.attempts, second.attempts) == (1, 2)
    assert stored(db)["a1"].status is OutboxStatus.SENT


def test_an_item_abandoned_mid_send_every_time_is_given_up(db: SqlEngine, clock: Clock) -> None:
    connector = ScriptedConnector().fail(SimulatedCrash(), SimulatedCrash(), SimulatedCrash())
    add_items(db, clock, ["a1"])
    for _ in range(POLICY.max_attempts):
        with pytest.raises(SimulatedCrash):
            Dispatcher(database=db, connectors=connectors(connector)).dispatch_due(now=clock)
        clock.now += timedelta(minutes=10)

    report = Dispatcher(database=db, connectors=connectors(connector)).dispatch_due(now=clock)

    assert report.dead == 1 and len(connector.attempts) == POLICY.max_attempts
    item = stored(db)["a1"]
    assert item.status is OutboxStatus.DEAD
    assert item.last_error is not None and "none was confirmed" in item.last_error


def test_a_late_outcome_of_a_lost_claim_is_not_recorded(db: SqlEngine, clock: Clock) -> None:
    add_items(db, clock, ["a1"])
    with UnitOfWork(db) as uow:
        (first,) = OutboxRepository(uow.connection).claim(
            connector="scripted",
            at=clock(),
            lease_until=clock(),
            limit=5,
            excluding_actions=(),
        )
        uow.commit()
    connector = ScriptedConnector()
    report = dispatch_due(
        database=db, connectors=connectors(connector), now=clock, rng=random.Random(1)
    )
    assert report.sent == 1
    with UnitOfWork(db) as uow:
        # the first claim's worker comes back after its lease ran out: too late to record
        assert not OutboxRepository(uow.connection).mark_retry(
            first, error="late", retry_at=clock()
        )
        uow.commit()
    assert stored(db)["a1"].status is OutboxStatus.SENT


def test_concurrent_dispatchers_skip_rows_the_other_holds(db: SqlEngine, clock: Clock) -> None:
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite has a single writer; SKIP LOCKED is PostgreSQL's")
    add_items(db, clock, ["a1", "a2", "a3", "a4"])
    with UnitOfWork(db) as first, UnitOfWork(db) as second:
        claim = {"connector": "scripted", "at": clock(), "excluding_actions": ()}
        held = OutboxRepository(first.connection).claim(
            lease_until=clock() + timedelta(minutes=5), limit=2, **claim
        )
        other = OutboxRepository(second.connection).claim(
            lease_until=clock() + timedelta(minutes=5), limit=4, **claim
        )
        first.commit()
        second.commit()
    assert len(held) == 2 and len(other) == 2
    assert {i.outbox_id for i in held}.isdisjoint({i.outbox_id for i in other})
