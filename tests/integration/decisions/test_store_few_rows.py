"""Storing a small run takes shortcuts (Python for a few rows, columns made as series, the
log converted column by column, rosters only of the teams work is routed to): they store
exactly what the paths a batch takes store, row for row, down to the audit chain."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import text

from nextmove import Engine
from nextmove.decisions import repository, service
from nextmove.execution import planning
from nextmove.store import UnitOfWork, bulk

AS_OF = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"

# Up to these sizes a shortcut is taken; at these values never.
_SHORTCUTS = [
    (service, "_FEW_ROWS", -1),
    (repository, "_FEW", 0),
    (repository, "_PLAIN", ()),
    (bulk, "_FEW_ROWS", 0),
    (planning, "_FEW_ROWS", 0),
]
_TABLES = ("decision_runs", "decisions", "outbox", "approvals", "audit_log")


def _playbook() -> str:
    playbook = EXAMPLE.read_text(encoding="utf-8")
    playbook = re.sub(r"min_expected_value: \d+", "min_expected_value: 1", playbook)
    playbook = re.sub(r"min_confidence: [\d.]+", "min_confidence: 0.2", playbook)
    # person-led work the engine does itself, so it is routed into the outbox too
    playbook = playbook.replace(
        "channel: meeting\n    autonomy: approve", "channel: meeting\n    autonomy: auto"
    )
    return playbook.replace("max_value: 20000, level: recommend", "max_value: 1, level: recommend")


def _stored(tmp_path: Path, name: str, company: Path) -> dict[str, Any]:
    """Decide accounts one at a time and a few at once (some owners away, then with
    approvals required); return every row each decision wrote."""
    now = [datetime(2026, 11, 22, 18, 5, tzinfo=UTC)]
    with Engine.open(f"sqlite:///{tmp_path / name}.db", clock=lambda: now[0]) as engine:
        engine.import_folder(company)
        engine.apply_playbook(_playbook(), message="acting often")
        with UnitOfWork(engine.database) as uow:
            ids = [
                row[0]
                for row in uow.connection.exec_driver_sql(
                    "SELECT account_id FROM accounts ORDER BY account_id"
                )
            ]
            owners = [
                row[0]
                for row in uow.connection.exec_driver_sql(
                    "SELECT owner_id FROM owners ORDER BY owner_id"
                )
            ]

        def decide(accounts: str | list[str], as_of: datetime) -> None:
            engine.decide_for(accounts, as_of=as_of)
            now[0] += timedelta(seconds=3, microseconds=1234)

        for account in ids[:100]:
            decide(account, AS_OF)
        engine.set_absent(frozenset(owners[::3]))
        for account in ids[100:200]:
            decide(account, AS_OF + timedelta(days=1))
        decide(ids[200:215], AS_OF + timedelta(days=1, hours=1))
        engine.demote_autonomy("drift_alert", reason="a person looks first")
        for account in ids[215:285]:
            decide(account, AS_OF + timedelta(days=2))
        decide(ids[285:300], AS_OF + timedelta(days=2, hours=1))
        assert engine.verify_audit().ok
        with UnitOfWork(engine.database) as uow:
            connection = uow.connection
            found: dict[str, Any] = {
                table: connection.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()
                for table in _TABLES
            }
            logs = connection.execute(
                text("SELECT run_id, rows, content FROM decision_logs ORDER BY run_id")
            ).all()
    found["decision_logs"] = [
        (run_id, rows, pl.read_parquet(io.BytesIO(content))) for run_id, rows, content in logs
    ]
    return found


def test_a_small_run_is_stored_as_a_batch_would_store_it(
    tmp_path: Path, small_company: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    few = _stored(tmp_path, "few", small_company)
    with monkeypatch.context() as patched:
        for module, name, never in _SHORTCUTS:
            patched.setattr(module, name, never)
        many = _stored(tmp_path, "many", small_company)
    # what is compared: runs that acted, routed work, reassignments, approvals
    assert any(row.actions for row in few["decision_runs"])
    assert any(row.routing_reason and "reassigned" in row.routing_reason for row in few["outbox"])
    assert few["approvals"] and few["outbox"]
    for table in _TABLES:
        assert few[table] == many[table], table
    assert len(few["decision_logs"]) == len(many["decision_logs"])
    for (run, rows, log), (run_b, rows_b, log_b) in zip(
        few["decision_logs"], many["decision_logs"], strict=True
    ):
        assert (run, rows) == (run_b, rows_b)
        assert log.schema == log_b.schema and log.equals(log_b), run
