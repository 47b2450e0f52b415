"""Moves that wait for people reach accounts too: a decision that asks approval counts as a
touch while its request is pending or once approved (not once rejected or expired), and a
recommendation counts as done, so contact caps and quiet periods hold for them as for
automatic moves, and an account is not proposed for the same meeting again while one waits.
Requests made before approvals named their decision (migration 0009) are linked from
their payload."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
from sqlalchemy import insert, select

from nextmove import Engine
from nextmove.decisions.repository import DecisionRepository
from nextmove.governance.model import ApprovalStatus
from nextmove.measurement.repository import MeasurementRepository
from nextmove.store import UnitOfWork
from nextmove.store import tables as t
from nextmove.store.database import create_database_engine
from nextmove.store.migrate import upgrade

AS_OF = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _touches(engine: Engine) -> set[tuple[str, str]]:
    """The touches deciding reads, checked equal to those evaluating a playbook replays."""
    with UnitOfWork(engine.database) as uow:
        frame = DecisionRepository(uow.connection).touches()
        replayed = MeasurementRepository(uow.connection).touches(until=AS_OF + timedelta(days=1))
    assert frame.sort(frame.columns).equals(replayed.sort(replayed.columns))
    return set(frame.select("account_id", "action").iter_rows())


def test_moves_waiting_for_people_are_touches_until_declined(decider: Engine) -> None:
    run = decider.decide(as_of=AS_OF)
    acting = decider.decisions(run_id=run.run_id).filter(pl.col("action") != "no_action")
    levels = set(acting["autonomy"].to_list())
    assert {"auto", "approve", "recommend"} <= levels  # the example playbook uses all three
    pending = decider.approvals(status=ApprovalStatus.PENDING, limit=1000)
    by_decision = {
        row["decision_id"]: (row["account_id"], row["action"])
        for row in acting.filter(pl.col("autonomy") == "approve").iter_rows(named=True)
    }
    assert pending and {a.decision_id for a in pending} == set(by_decision)
    assert all(by_decision[a.decision_id] == (a.account_id, a.action) for a in pending)

    expected = {
        (row["account_id"], row["action"])
        for row in acting.filter(pl.col("autonomy").is_in(["auto", "approve", "recommend"]))
        .select("account_id", "action")
        .iter_rows(named=True)
    }
    assert _touches(decider) == expected

    rejected, approved = pending[0], pending[1]
    decider.reject(rejected.approval_id, "not now")
    decider.approve(approved.approval_id)
    touched = _touches(decider)
    assert (rejected.account_id, rejected.action) not in touched
    assert (approved.account_id, approved.action) in touched
    assert touched == expected - {(rejected.account_id, rejected.action)}


def test_an_account_waiting_on_a_meeting_is_not_proposed_another(decider: Engine) -> None:
    first = decider.decide(as_of=AS_OF)
    meetings = first.decisions.filter(pl.col("action") == "sales_outreach")
    assert meetings.height >= 2
    waiting = decider.approvals(status=ApprovalStatus.PENDING, limit=1000)
    rejected = next(a for a in waiting if a.action == "sales_outreach")
    decider.reject(rejected.approval_id, "wrong moment")
    approved = next(
        a for a in waiting if a.action == "sales_outreach" and a.account_id != rejected.account_id
    )
    decider.approve(approved.approval_id)

    later = decider.decide(as_of=AS_OF + timedelta(days=5))  # inside every cap's window
    again = set(later.decisions.filter(pl.col("action") == "sales_outreach")["account_id"])
    held = set(meetings["account_id"]) - {rejected.account_id}
    assert not again & held  # meetings_monthly: one meeting per account in 30 days
    still_pending = decider.approvals(status=ApprovalStatus.PENDING, limit=1000)
    per_account = pl.Series([a.account_id for a in still_pending]).value_counts()
    assert per_account["count"].max() == 1  # no account waits on two requests


def test_requests_made_before_they_named_their_decision_are_linked(database_url: str) -> None:
    database = create_database_engine(database_url)
    upgrade(database, "0008")
    at = datetime(2026, 11, 20, 9, tzinfo=UTC)
    base = {
        "account_id": "acc-1",
        "action": "sales_outreach",
        "product_id": None,
        "value": 10.0,
        "requested_by": "engine",
        "requested_at": at,
        "expires_at": at + timedelta(days=7),
        "required_approvers": 1,
        "approvers": "[]",
        "status": "pending",
    }
    payloads = [
        json.dumps({"decision_id": 41, "assignee": "rep-1"}),
        json.dumps({"note": "asked by a person"}),
        json.dumps({"decision_id": "41"}),  # not a number: not the engine's
        "not json",
    ]
    with database.begin() as connection:
        for payload in payloads:
            connection.execute(insert(t.approvals).values(payload=payload, **base))
    upgrade(database)
    with database.connect() as connection:
        linked = connection.execute(
            select(t.approvals.c.decision_id).order_by(t.approvals.c.approval_id)
        ).scalars()
        assert list(linked) == [41, None, None, None]
    database.dispose()
