"""The readiness report, duplicates and the synthetic company through the command line."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nextmove import Engine

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[3]


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "nextmove"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **env},
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture
def company_db(tmp_path: Path, database_url: str) -> dict[str, str]:
    """A database holding a small synthetic company, imported through the CLI."""
    env = {"NEXTMOVE_DATABASE_URL": database_url}
    generated = run(
        "sim", "generate", "--accounts", "800", "--seed", "5", "--out", "co", "--format",
        "jsonl", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    assert (tmp_path / "co" / "manifest.yaml").is_file()
    imported = run("import-folder", "co", env=env, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "accounts from" in imported.stdout
    return env


def test_foundation_report_as_json_markdown_and_html(
    tmp_path: Path, company_db: dict[str, str]
) -> None:
    as_json = run(
        "foundation", "--as-of", "2026-11-22", "--format", "json", env=company_db, cwd=tmp_path
    )
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    decisions = {d["decision_type"]: d for d in report["decisions"]}
    assert set(decisions) >= {"cross_sell", "new_logo", "digital_program"}
    assert 0 < decisions["cross_sell"]["ready"] <= decisions["cross_sell"]["accounts"]

    markdown = run(
        "foundation", "--as-of", "2026-11-22", "--format", "markdown", env=company_db, cwd=tmp_path
    )
    assert "## Readiness by decision type" in markdown.stdout

    written = run(
        "foundation", "--as-of", "2026-11-22", "--format", "html", "--output", "r.html",
        env=company_db, cwd=tmp_path,
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    assert "Cross-sell" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_a_bad_as_of_date_is_refused_clearly(tmp_path: Path, company_db: dict[str, str]) -> None:
    result = run("foundation", "--as-of", "22/11/2026", env=company_db, cwd=tmp_path)
    assert result.returncode != 0
    assert "expected a date like 2026-11-22" in result.stdout + result.stderr


def test_duplicates_lists_pairs_with_confidence(tmp_path: Path, company_db: dict[str, str]) -> None:
    result = run("duplicates", "--limit", "5", env=company_db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Probable duplicate accounts" in result.stdout
    assert "nothing merged" in result.stdout
    assert "same web domain" in result.stdout


def test_quickstart_example_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "quickstart.py"),
            f"sqlite:///{tmp_path / 'q.db'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "accounts:  2,000 imported" in result.stdout
    assert "Cross-sell:" in result.stdout
    assert "quarantined: " in result.stdout


def test_quarantine_exports_every_entry_to_csv(tmp_path: Path, company_db: dict[str, str]) -> None:
    result = run("quarantine", "--output", "bad.csv", env=company_db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with (tmp_path / "bad.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    # The generator injects invalid rows into its files; every one is in the export.
    with Engine.open(company_db["NEXTMOVE_DATABASE_URL"]) as engine:
        stored = engine.quarantined(limit=None)
    assert len(rows) == len(stored) >= 1
    assert {row["value"] for row in rows} == {entry.value or "" for entry in stored}
    assert {"row", "field", "value", "reason", "record"} <= set(rows[0])
    assert all(row["reason"] for row in rows)
    assert f"{len(rows):,} quarantine entries written" in result.stdout
