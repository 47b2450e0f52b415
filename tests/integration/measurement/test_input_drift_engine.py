"""Drift of the model's inputs through ``Engine.monitor`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import insert

from nextmove import Engine
from nextmove.domain import Signal
from nextmove.governance.model import ExceptionKind, ExceptionStatus
from nextmove.measurement.monitoring import MonitorSettings
from nextmove.sim import SimConfig, generate, write_company
from nextmove.store import UnitOfWork
from nextmove.store import tables as t

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "examples" / "playbooks" / "b2b_saas.yaml"
KEY = "input:features"


@pytest.fixture
def company(engine: Engine, tmp_path: Path) -> tuple[Engine, datetime, list[str]]:
    """Three months of a steady company's signals (no programme drift); returns the engine,
    the end of its history and the accounts' ids."""
    config = SimConfig(seed=8, accounts=700, history_days=90, digital_drift=1.0)
    generated = generate(config)
    manifest = write_company(generated, tmp_path / "company", fmt="parquet")
    engine.import_folder(manifest.parent)
    engine.apply_playbook(PLAYBOOK, message="rules")
    end = datetime.combine(config.as_of + timedelta(days=1), time(), tzinfo=UTC)
    return engine, end, generated.accounts["account_id"].to_list()


def _drift_exceptions(engine: Engine) -> list[dict[str, object]]:
    return [
        dict(item.details)
        for item in engine.exceptions(status=ExceptionStatus.OPEN)
        if item.kind == ExceptionKind.DRIFT and item.details.get("key") == KEY
    ]


def test_a_steady_world_raises_no_input_alarm(
    company: tuple[Engine, datetime, list[str]],
) -> None:
    engine, end, _ = company
    report = engine.monitor(as_of=end)
    assert KEY in report.monitored
    assert all(alarm.key != KEY for alarm in report.alarms)
    assert _drift_exceptions(engine) == []


def _surge(engine: Engine, end: datetime, accounts: list[str]) -> None:
    """Two of three accounts get three intent surges in the last five days."""
    rng = np.random.default_rng(9)
    surge = [
        Signal(
            event_id=f"surge-{i}-{k}", account_id=account, signal_type="intent_surge",
            occurred_at=end - timedelta(hours=float(rng.uniform(1, 120))), source="intent vendor",
        )
        for i, account in enumerate(accounts)
        for k in range(3)
        if i % 3
    ]  # fmt: skip
    engine.ingest(signals=surge)


def test_a_surging_intent_feed_raises_one_input_alarm_with_its_evidence(
    company: tuple[Engine, datetime, list[str]],
) -> None:
    engine, end, accounts = company
    _surge(engine, end, accounts)
    report = engine.monitor(as_of=end, adapt=False)
    alarms = [alarm for alarm in report.alarms if alarm.key == KEY]
    assert len(alarms) == 1
    alarm = alarms[0]
    assert alarm.kind == "input" and "intent_surge_score PSI" in alarm.summary
    assert "intent_surge signals" in alarm.proposal
    assert alarm.change_from == (end - timedelta(days=MonitorSettings().lookback_days)).date()
    opened = _drift_exceptions(engine)
    assert len(opened) == 1
    evidence = opened[0]["evidence"]
    assert isinstance(evidence, dict)
    worst = evidence["drifted"][0]
    assert worst["feature"] == "intent_surge_score" and worst["psi"] > 0.25
    assert worst["recent_mean"] > worst["reference_mean"]
    assert evidence["reference_basis"] == "lookback"
    assert evidence["accounts"]["recent"] == evidence["accounts"]["stored"] > 500
    again = engine.monitor(as_of=end, adapt=False)
    assert any(a.key == KEY for a in again.alarms) and again.opened == ()


def test_too_few_accounts_are_not_judged(company: tuple[Engine, datetime, list[str]]) -> None:
    engine, end, _ = company
    report = engine.monitor(as_of=end, settings=MonitorSettings(min_feature_accounts=100_000))
    assert KEY not in report.monitored


def test_with_a_model_the_reference_is_its_data_and_only_its_inputs_count(
    company: tuple[Engine, datetime, list[str]],
) -> None:
    engine, end, accounts = company
    trained = end - timedelta(days=10)
    params = {"feature_names": ["intent_surge_score", "web_visits_score"], "product_ids": []}
    with UnitOfWork(engine._database) as uow:
        uow.connection.execute(
            insert(t.models).values(
                model_version="m-1", trained_at=trained, as_of=trained, rows=1,
                params=json.dumps(params), metrics="{}", active=True,
            )
        )  # fmt: skip
        uow.commit()
    _surge(engine, end, accounts)
    report = engine.monitor(as_of=end, adapt=False)
    alarm = next(alarm for alarm in report.alarms if alarm.key == KEY)
    assert alarm.change_from == trained.date()
    assert alarm.evidence["reference_basis"] == "model" and alarm.evidence["watched"] == 2
    assert alarm.summary.startswith(f"1 model input drifted since {trained.date()}: intent_surge")
