"""Decisions become work in the same transaction: outbox, approvals, routing."""

from __future__ import annotations

import polars as pl
import pytest
from agent_company import Company
from sqlalchemy import func, select

from nextmove.errors import ConfigurationError
from nextmove.execution import ConnectorSet, OutboxStatus
from nextmove.execution.connectors import DryRunConnector
from nextmove.governance.model import ApprovalStatus
from nextmove.store import tables as t


def _count(company: Company, table: object) -> int:
    with company.engine.database.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _acting(run_decisions: pl.DataFrame, level: str) -> pl.DataFrame:
    return run_decisions.filter((pl.col("action") != "no_action") & (pl.col("autonomy") == level))


def test_a_run_queues_auto_moves_and_asks_approval_for_the_others(company: Company) -> None:
    engine = company.engine
    run = engine.decide(as_of=company.clock.now)
    auto, approve = _acting(run.decisions, "auto"), _acting(run.decisions, "approve")
    assert auto.height > 0 and approve.height > 0
    items = engine.outbox(limit=1000)
    assert sorted(i.account_id for i in items) == sorted(auto["account_id"].to_list())
    assert {i.status for i in items} == {OutboxStatus.PENDING}
    assert all(i.decision_id is not None and i.run_id == run.run_id for i in items)
    pending = engine.approvals(ApprovalStatus.PENDING)
    assert sorted(a.account_id for a in pending) == sorted(approve["account_id"].to_list())
    sales = [a for a in pending if a.action == "sales_outreach"]
    assert sales and all(a.payload["assignee"] and a.payload["routing_reason"] for a in sales)
    # A replayed enqueue of the same decisions adds nothing (idempotency keys).
    assert engine.enqueue_approved() == 0


def test_a_run_that_cannot_be_queued_is_not_stored_at_all(company: Company) -> None:
    engine = company.engine
    engine._connectors = ConnectorSet(connectors={"x": DryRunConnector(name="x")})  # no default
    with pytest.raises(ConfigurationError, match="no connector for action"):
        engine.decide(as_of=company.clock.now)
    assert _count(company, t.decision_runs) == 0
    assert _count(company, t.decisions) == 0
    assert _count(company, t.outbox) == 0
    assert _count(company, t.approvals) == 0


def test_approving_queues_the_action_once_keyed_by_the_approval(company: Company) -> None:
    engine = company.engine
    engine.decide(as_of=company.clock.now)
    request = engine.approvals(ApprovalStatus.PENDING)[0]
    before = len(engine.outbox(limit=1000))
    approved = engine.approve(request.approval_id)
    assert approved.status is ApprovalStatus.APPROVED
    queued = engine.outbox(account_id=request.account_id, limit=10)
    keyed = [i for i in queued if i.decision_id is None]
    assert len(keyed) == 1 and keyed[0].payload == request.payload
    assert keyed[0].action == request.action and keyed[0].assignee == request.payload["assignee"]
    assert len(engine.outbox(limit=1000)) == before + 1
    assert engine.enqueue_approved() == 0  # the sweep finds it already queued
    report = engine.dispatch()
    assert report.sent == before + 1


def test_work_of_an_absent_owner_goes_to_the_teammate_with_most_room(company: Company) -> None:
    engine = company.engine
    with engine.database.connect() as connection:
        sales = (
            connection.execute(
                select(t.owners.c.owner_id).where(t.owners.c.team_id == "team-sales")
            )
            .scalars()
            .all()
        )
    keep = "own-0005"
    engine.set_absent(frozenset(o for o in sales if o != keep))
    engine.decide(as_of=company.clock.now)
    request = next(
        a for a in engine.approvals(ApprovalStatus.PENDING) if a.action == "sales_outreach"
    )
    owner = request.payload["owner_id"]
    assert owner != keep
    assert request.payload["assignee"] == keep
    reason = str(request.payload["routing_reason"])
    assert f"owner {owner} is absent" in reason and f"reassigned to {keep}" in reason


def test_with_the_whole_team_away_work_waits_in_the_team_queue(company: Company) -> None:
    engine = company.engine
    with engine.database.connect() as connection:
        sales = (
            connection.execute(
                select(t.owners.c.owner_id).where(t.owners.c.team_id == "team-sales")
            )
            .scalars()
            .all()
        )
    engine.set_absent(frozenset(sales))
    engine.decide(as_of=company.clock.now)
    request = next(
        a for a in engine.approvals(ApprovalStatus.PENDING) if a.action == "sales_outreach"
    )
    assert request.payload["assignee"] == "queue:team-sales"
    assert "nobody on the team has room left" in str(request.payload["routing_reason"])
