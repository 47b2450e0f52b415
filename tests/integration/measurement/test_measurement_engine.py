"""Measurement through the Engine on a small closed loop (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import polars as pl
import pytest

from nextmove import Engine
from nextmove.governance.model import ExceptionKind, ExceptionStatus
from nextmove.measurement import service
from nextmove.measurement.model import DriftAlarm, Metric
from nextmove.measurement.monitoring import MonitorSettings
from nextmove.sim import SimAction, SimConfig, World, generate, write_company

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "examples" / "playbooks" / "b2b_saas.yaml"


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


@pytest.fixture
def looped(engine: Engine, tmp_path: Path) -> tuple[Engine, datetime]:
    """Six simulated days of decisions, moves and outcomes; returns the engine and the end."""
    company = generate(SimConfig(seed=5, accounts=300, history_days=20))
    manifest = write_company(company, tmp_path / "company", fmt="parquet")
    world = World(company)
    engine.import_folder(manifest.parent)
    engine.apply_playbook(PLAYBOOK, message="rules")
    for _ in range(6):
        today = world.day
        engine.ingest(signals=world.signals_for_day())
        run = engine.decide(as_of=_noon(today))
        acting = run.decisions.filter(pl.col("action") != "no_action")
        actions = [
            SimAction(account_id=a, motion=m, day=today, product_id=p)
            for a, m, p in acting.select("account_id", "action", "product_id").iter_rows()
        ]
        engine.record_outcomes(world.step(actions))
    return engine, _noon(world.day) + timedelta(hours=12)


def test_impact_compares_every_decided_account_with_the_holdout(
    looped: tuple[Engine, datetime],
) -> None:
    engine, end = looped
    report = engine.impact(as_of=end)
    overall = report.row()
    assert overall is not None
    assert overall.treated + overall.control == report.accounts
    assert 0 < overall.control < overall.treated
    assert overall.lift.low <= overall.lift.value <= overall.lift.high
    assert {r.metric for r in report.rows} == set(Metric)
    assert {r.dimension for r in report.rows} >= {"all", "segment", "week"}
    weeks = [r for r in report.rows if r.dimension == "week"]
    assert weeks[-1].group == end.date().isoformat()
    assert report.decisions == 6 * report.accounts


def test_evaluate_estimates_a_candidate_on_logged_decisions(
    looped: tuple[Engine, datetime],
) -> None:
    engine, end = looped
    found = engine.evaluate(PLAYBOOK, as_of=end, runs=3, reward_days=1)
    assert found.decisions > 0
    assert found.name == "b2b_saas.yaml"
    assert 0 < found.matched <= found.decisions
    for method in ("ips", "snips", "dr"):
        estimate = found.estimate(method)
        assert estimate.estimate.low <= estimate.estimate.value <= estimate.estimate.high
        assert 0 < estimate.effective_sample_size <= found.decisions
    assert sum(found.by_action.values()) == found.decisions


def test_monitor_opens_one_exception_per_alarm_and_demotes_on_drift(
    looped: tuple[Engine, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, end = looped
    alarm = DriftAlarm(
        key="conversion:digital_program", kind="conversion", subject="digital_program",
        detector="bernoulli_cusum", detected_on=end.date(), change_from=end.date(),
        summary="digital_program: conversion fell from 2.00% to 1.00%",
        proposal="retrain", evidence={"expected_rate": 0.02, "observed_rate": 0.01},
    )  # fmt: skip
    monkeypatch.setattr(service, "detect_drift", lambda **_: ([alarm], (alarm.key,)))
    first = engine.monitor(as_of=end)
    again = engine.monitor(as_of=end)
    assert len(first.opened) == 1 and again.opened == ()
    assert "digital_program" in first.demoted
    assert "digital_program" in engine.demoted_levels()
    drift = [
        e for e in engine.exceptions(status=ExceptionStatus.OPEN) if e.kind == ExceptionKind.DRIFT
    ]
    opened = [e for e in drift if e.exception_id == first.opened[0]][0]
    assert opened.details["key"] == alarm.key
    assert opened.details["proposal"] == "retrain"
    assert "Proposed: retrain" in opened.summary


def test_monitor_without_drift_opens_nothing(looped: tuple[Engine, datetime]) -> None:
    engine, end = looped
    report = engine.monitor(as_of=end)
    assert "input:signal_mix" in report.monitored
    assert all(a.kind != "conversion" for a in report.alarms)  # too few days to judge


def test_report_is_one_offline_html_file(looped: tuple[Engine, datetime], tmp_path: Path) -> None:
    engine, end = looped
    path = engine.measurement_report(tmp_path / "m.html", as_of=end)
    html = path.read_text(encoding="utf-8")
    assert html.count("<svg") == 4
    assert "Revenue lift per treated account" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "<script" not in html and "https://" not in html


def test_monitor_watches_the_engagement_that_follows_touches(
    looped: tuple[Engine, datetime],
) -> None:
    engine, end = looped
    settings = MonitorSettings(reference_days=2, engagement_days=2, min_reference_engagements=5)
    report = engine.monitor(as_of=end, settings=settings, adapt=False)
    assert "engagement:digital_program:email_click" in report.monitored
    assert not any(m.startswith("engagement:sales_outreach") for m in report.monitored)


def test_an_engagement_alarm_opens_an_exception_and_demotes_only_its_motion(
    looped: tuple[Engine, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, end = looped
    alarm = DriftAlarm(
        key="engagement:digital_program:email_click", kind="engagement",
        subject="digital_program", detector="bernoulli_cusum", detected_on=end.date(),
        change_from=end.date(), summary="digital_program (email): email_click fell 48%",
        proposal="consider shifting capacity to service_conversation",
        evidence={"expected_rate": 0.12, "observed_rate": 0.06},
    )  # fmt: skip
    monkeypatch.setattr(service, "detect_drift", lambda **_: ([alarm], (alarm.key,)))
    report = engine.monitor(as_of=end)
    assert report.demoted == ("digital_program",)
    opened = [e for e in engine.exceptions(status=ExceptionStatus.OPEN)
              if e.exception_id == report.opened[0]][0]  # fmt: skip
    assert opened.details["kind"] == "engagement"
    assert "email_click fell 48%. Proposed: consider shifting capacity" in opened.summary
