"""``nextmove impact / monitor / evaluate / report``: measuring from the shell, as a user."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path

import polars as pl
import pytest
from cli_support import nextmove

from nextmove import Engine
from nextmove.sim import SimAction, SimConfig, World, generate, write_company

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "examples" / "playbooks" / "b2b_saas.yaml"
AS_OF = "2026-09-20"
"""The day after the six simulated days below."""


def _evening(day: date) -> datetime:
    return datetime.combine(day, time(20), tzinfo=UTC)


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite database with six days of decisions, moves and outcomes of a small company."""
    folder = tmp_path_factory.mktemp("measured")
    company = generate(SimConfig(seed=5, accounts=300, history_days=20))
    manifest = write_company(company, folder / "company", fmt="parquet")
    world = World(company)
    url = f"sqlite:///{folder / 'nextmove.db'}"
    with Engine.open(url) as engine:
        engine.import_folder(manifest.parent)
        engine.apply_playbook(PLAYBOOK, message="rules")
        for _ in range(6):
            today = world.day
            engine.ingest(signals=world.signals_for_day())
            run = engine.decide(as_of=_evening(today))
            acting = run.decisions.filter(pl.col("action") != "no_action")
            engine.record_outcomes(
                world.step(
                    [
                        SimAction(account_id=a, motion=m, day=today, product_id=p)
                        for a, m, p in acting.select("account_id", "action", "product_id").rows()
                    ]
                )
            )
    assert world.day.isoformat() < AS_OF
    return url


def test_impact_as_json_compares_the_engine_with_the_holdout(measured: str, tmp_path: Path) -> None:
    result = nextmove(
        measured, "impact", "--as-of", AS_OF, "--by", "segment", "--format", "json", cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["accounts"] == 300 and report["decisions"] == 6 * 300
    overall = next(r for r in report["rows"] if (r["dimension"], r["metric"]) == ("all", "revenue"))
    assert overall["treated"] + overall["control"] == 300
    assert 0 < overall["control"] < overall["treated"]
    lift = overall["lift"]
    assert lift["low"] <= lift["value"] <= lift["high"]
    assert {r["dimension"] for r in report["rows"]} == {"all", "segment", "week"}


def test_impact_table_names_the_period_and_the_lift(measured: str, tmp_path: Path) -> None:
    result = nextmove(measured, "impact", "--as-of", AS_OF, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "300 accounts, 1,800 decisions from 2026-09-13" in result.stdout
    assert "lift against the holdout" in result.stdout


def test_monitor_reports_what_it_watched_as_json(measured: str, tmp_path: Path) -> None:
    result = nextmove(
        measured, "monitor", "--as-of", AS_OF, "--reference-days", "2", "--no-adapt",
        "--format", "json", cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["as_of"].startswith(AS_OF)
    assert "input:signal_mix" in report["monitored"]
    assert "conversion:digital_program" in report["monitored"]
    assert report["demoted"] == []
    for alarm in report["alarms"]:
        assert alarm["summary"] and alarm["proposal"]


def test_evaluate_values_a_candidate_playbook(measured: str, tmp_path: Path) -> None:
    result = nextmove(
        measured, "evaluate", "--playbook", str(PLAYBOOK), "--as-of", AS_OF, "--runs", "3",
        "--reward-days", "1", "--format", "json", cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["name"] == "b2b_saas.yaml"
    assert found["decisions"] == 3 * 300
    assert 0 < found["matched"] <= found["decisions"]
    assert sum(found["by_action"].values()) == found["decisions"]
    methods = {e["method"]: e for e in found["estimates"]}
    assert set(methods) == {"ips", "snips", "dr"}
    for estimate in methods.values():
        assert estimate["estimate"]["low"] <= estimate["estimate"]["high"]
        assert 0 < estimate["effective_sample_size"] <= found["decisions"]


def test_report_writes_one_offline_html_file_with_its_charts(measured: str, tmp_path: Path) -> None:
    result = nextmove(measured, "report", "-o", "m.html", "--as-of", AS_OF, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "measurement report written to m.html" in result.stdout
    html = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 4
    assert "Revenue lift per treated account" in html
    assert "<script" not in html and "https://" not in html


@pytest.mark.parametrize(
    "args, name",
    [
        (["evaluate", "--playbook", "missing.yaml", "--as-of", AS_OF], "--playbook"),
        (["impact", "--as-of", "next tuesday"], "--as-of"),
        (["monitor", "--as-of", "2026-13-40"], "--as-of"),
        (["report", "--as-of", AS_OF, "--since", "yesterday"], "--since"),
        (["impact", "--by", "colour"], "--by"),
    ],
    ids=["missing-playbook", "impact-as-of", "monitor-as-of", "report-since", "impact-by"],
)
def test_bad_input_is_refused_in_one_line_with_exit_2(
    tmp_path: Path, args: list[str], name: str
) -> None:
    database = tmp_path / "never.db"

    result = nextmove(f"sqlite:///{database}", *args, cwd=tmp_path)

    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith(f"error: {name}: "), line
    assert result.stdout == "" and not database.exists()  # refused before anything opened
