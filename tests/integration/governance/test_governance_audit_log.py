"""The audit log: appended in the caller's transaction, chained, and tamper-evident."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import insert, text
from sqlalchemy.exc import OperationalError

from nextmove.errors import AccessDenied
from nextmove.governance import service
from nextmove.governance.audit import GENESIS_HASH
from nextmove.governance.model import Actor, Role
from nextmove.store import UnitOfWork
from nextmove.store import tables as t

Clock = Callable[[], datetime]
MakeUser = Callable[..., Actor]


def append(db: SqlEngine, clock: Clock, count: int, actor: str = "root") -> None:
    with UnitOfWork(db) as uow:
        for number in range(count):
            service.record_audit(
                uow,
                actor=actor,
                action="test.event",
                subject=f"thing:{number}",
                details={"n": number},
                occurred_at=clock(),
            )
        uow.commit()


def test_entries_chain_and_verify(db: SqlEngine, clock: Clock, admin: Actor) -> None:
    append(db, clock, 3)
    entries = list(reversed(service.audit_entries(store=db, actor=admin)))
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    result = service.verify_audit(store=db, actor=admin)
    assert result.ok and result.checked == 4 and result.head_hash == entries[-1].hash


def test_an_entry_lands_only_with_the_callers_commit(
    db: SqlEngine, clock: Clock, admin: Actor
) -> None:
    with UnitOfWork(db) as uow:
        service.record_audit(
            uow, actor=admin, action="test.event", subject="x", details={}, occurred_at=clock()
        )
        uow.rollback()
    assert [e.action for e in service.audit_entries(store=db, actor=admin)] == ["user.bootstrap"]
    append(db, clock, 1)
    assert service.verify_audit(store=db, actor=admin).ok


def test_entries_carry_the_playbook_version_in_force(
    db: SqlEngine, clock: Clock, admin: Actor
) -> None:
    with db.begin() as connection:
        connection.execute(
            insert(t.playbook_versions).values(
                content="x", content_hash="0" * 64, author="root", message="m", created_at=clock()
            )
        )
    append(db, clock, 1)
    newest = service.audit_entries(store=db, actor=admin, limit=1)[0]
    assert newest.playbook_version == 1
    with UnitOfWork(db) as uow:
        explicit = service.record_audit(
            uow,
            actor="system",
            action="test.event",
            subject="x",
            details={},
            occurred_at=clock(),
            playbook_version=7,
        )
        uow.commit()
    assert explicit.playbook_version == 7 and service.verify_audit(store=db, actor=admin).ok


def test_entries_filter_by_action_newest_first(db: SqlEngine, clock: Clock, admin: Actor) -> None:
    append(db, clock, 5)
    events = service.audit_entries(store=db, actor=admin, limit=2, action="test.event")
    assert [e.seq for e in events] == [6, 5]


def test_a_row_edited_with_raw_sql_is_detected(db: SqlEngine, clock: Clock, admin: Actor) -> None:
    append(db, clock, 4)
    with db.begin() as connection:
        connection.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"))
    result = service.verify_audit(store=db, actor=admin)
    assert not result.ok and result.first_broken_seq == 3 and result.checked == 2
    assert "edited" in (result.reason or "")


def test_details_edited_with_raw_sql_are_detected(
    db: SqlEngine, clock: Clock, admin: Actor
) -> None:
    append(db, clock, 2)
    with db.begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET details = :details WHERE seq = 2"), {"details": '{"n":42}'}
        )
    assert service.verify_audit(store=db, actor=admin).first_broken_seq == 2


def test_a_row_deleted_with_raw_sql_is_detected(db: SqlEngine, clock: Clock, admin: Actor) -> None:
    append(db, clock, 4)
    with db.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    result = service.verify_audit(store=db, actor=admin)
    assert result.first_broken_seq == 3 and result.reason == "entry 2 is missing (deleted?)"


def test_rows_swapped_with_raw_sql_are_detected(db: SqlEngine, clock: Clock, admin: Actor) -> None:
    append(db, clock, 4)
    with db.begin() as connection:
        connection.execute(text("UPDATE audit_log SET seq = 100 WHERE seq = 2"))
        connection.execute(text("UPDATE audit_log SET seq = 2 WHERE seq = 3"))
        connection.execute(text("UPDATE audit_log SET seq = 3 WHERE seq = 100"))
    result = service.verify_audit(store=db, actor=admin)
    assert not result.ok and result.first_broken_seq == 2


def test_verification_reads_past_one_page(db: SqlEngine, clock: Clock, admin: Actor) -> None:
    append(db, clock, 1_200)
    result = service.verify_audit(store=db, actor=admin)
    assert result.ok and result.checked == 1_201


def test_reps_do_not_read_the_audit(db: SqlEngine, make_user: MakeUser) -> None:
    rep = make_user(Role.REP)
    with pytest.raises(AccessDenied):
        service.audit_entries(store=db, actor=rep)
    with pytest.raises(AccessDenied):
        service.verify_audit(store=db, actor=rep)


def test_viewers_read_and_verify_the_audit(db: SqlEngine, make_user: MakeUser) -> None:
    viewer = make_user(Role.VIEWER)
    assert service.audit_entries(store=db, actor=viewer)
    assert service.verify_audit(store=db, actor=viewer).ok


def test_concurrent_appends_never_fork_the_chain(db: SqlEngine, clock: Clock, admin: Actor) -> None:
    writers, rounds, barrier = 6, 5, threading.Barrier(6)
    errors: list[Exception] = []
    committed = [0] * writers

    def work(number: int) -> None:
        barrier.wait()
        for _ in range(rounds):
            try:
                append(db, clock, 2, actor=f"writer-{number}")
                committed[number] += 1
            except Exception as exc:  # collected: a thread cannot fail the test itself
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = service.verify_audit(store=db, actor=admin)
    assert result.ok and result.checked == 1 + 2 * sum(committed)
    if db.dialect.name == "postgresql":
        assert errors == []  # the advisory lock queues writers
    else:  # SQLite serialises writers; one that raced may be refused, never forked
        assert all(isinstance(e, OperationalError) and "locked" in str(e) for e in errors)
        assert sum(committed) > 0
