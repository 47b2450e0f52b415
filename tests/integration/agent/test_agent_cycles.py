"""The agent loop's cycles: batch schedule, urgent re-decisions, kill switches, status."""

from __future__ import annotations

import threading
from datetime import timedelta

import polars as pl
from agent_company import Company

from nextmove.agent import Agent
from nextmove.domain import Signal
from nextmove.execution import OutboxStatus
from nextmove.governance.model import KillScope
from nextmove.loop.model import LoopSchedule


def _agent(company: Company) -> Agent:
    return Agent(company.engine, schedule=LoopSchedule(poll_seconds=0, learn_every=None))


def _signal(company: Company, account: str, kind: str, value: float, minutes: int) -> Signal:
    return Signal(
        event_id=f"test-{kind}-{account}-{minutes}",
        account_id=account,
        signal_type=kind,
        value=value,
        occurred_at=company.clock.now + timedelta(minutes=minutes),
    )


def test_the_first_cycle_decides_everyone_and_a_restart_keeps_the_schedule(
    company: Company,
) -> None:
    first = _agent(company).cycle()
    assert first.error is None and first.batch_run is not None
    assert first.decided == 400 and first.sent == first.auto > 0
    company.clock.now += timedelta(hours=1)
    again = _agent(company).cycle()  # a new process: the batch is not due for a day
    assert again.error is None and again.batch_run is None and again.decided == 0
    company.clock.now += timedelta(days=1)
    assert _agent(company).cycle().batch_run is not None


def test_an_urgent_signal_re_decides_its_account_at_the_next_cycle(company: Company) -> None:
    agent = _agent(company)
    agent.cycle()
    accounts = company.engine.decisions(include_no_action=True)["account_id"].to_list()
    surge, quiet = accounts[0], accounts[1]
    company.engine.ingest(
        signals=[
            _signal(company, surge, "intent_surge", 3.0, 1),
            _signal(company, quiet, "web_visit", 1.0, 1),  # not urgent in the playbook
            _signal(company, quiet, "support_ticket_opened", 3.0, 1),  # a P3: not urgent
        ]
    )
    company.clock.now += timedelta(minutes=2)
    report = agent.cycle()
    assert report.error is None and report.batch_run is None
    assert report.urgent_accounts == 1 and report.decided == 1
    assert agent.last_run is not None and agent.last_run.mode == "realtime"
    assert agent.last_run.decisions["account_id"].to_list() == [surge]
    company.clock.now += timedelta(minutes=2)
    assert agent.cycle().urgent_accounts == 0  # seen once, not again


def test_a_p1_ticket_is_urgent(company: Company) -> None:
    agent = _agent(company)
    agent.cycle()
    account = company.engine.decisions(include_no_action=True)["account_id"][5]
    ticket = _signal(company, account, "support_ticket_opened", 1.0, 1)
    company.engine.ingest(signals=[ticket.model_copy(update={"ref": "ticket-p1"})])
    company.clock.now += timedelta(minutes=2)
    assert agent.cycle().urgent_accounts == 1


def test_a_kill_switch_stops_dispatch_from_the_next_cycle(company: Company) -> None:
    engine = company.engine
    run = engine.decide(as_of=company.clock.now)
    queued = run.decisions.filter(
        (pl.col("action") != "no_action") & (pl.col("autonomy") == "auto")
    ).height
    engine.engage_kill_switch(KillScope.GLOBAL, reason="pricing error in the nurture copy")
    agent = _agent(company)
    stopped = agent.cycle()
    assert stopped.error is None and stopped.sent == 0
    assert sum(stopped.stopped.values()) == queued
    assert len(engine.outbox(status=OutboxStatus.PENDING, limit=1000)) == queued
    engine.release_kill_switch(KillScope.GLOBAL, reason="fixed")
    company.clock.now += timedelta(minutes=1)
    assert agent.cycle().sent == queued


def test_status_shows_the_last_cycle_and_the_queues(company: Company) -> None:
    agent = _agent(company)
    agent.cycle()
    status = company.engine.status()
    assert status.state is not None and status.state.cycles == 1
    assert status.state.last_report["batch_run"] is not None
    assert status.outbox[OutboxStatus.SENT] > 0
    assert status.approvals_pending > 0
    assert status.last_decision_at == company.clock.now


def test_run_stops_when_told(company: Company) -> None:
    stop = threading.Event()
    agent = _agent(company)
    assert agent.run(stop, cycles=2) == 2
    stop.set()
    assert agent.run(stop) == 0


def test_what_the_first_cycle_built_is_kept_out_of_garbage_collection(company: Company) -> None:
    import gc

    gc.unfreeze()
    agent = _agent(company)
    agent.cycle()
    settled = gc.get_freeze_count()
    agent.cycle()
    try:
        assert settled > 0  # long-lived objects no longer walked by every full collection
        assert gc.get_freeze_count() <= settled  # only once, not every cycle
    finally:
        gc.unfreeze()
