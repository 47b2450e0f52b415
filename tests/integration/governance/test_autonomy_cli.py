"""``nextmove autonomy status|demote|restore`` end to end, against SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from typer.testing import CliRunner, Result

from nextmove import Engine
from nextmove.cli import app as cli

Invoke = Callable[..., Result]


@pytest.fixture
def invoke(playbook_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    monkeypatch.delenv("NEXTMOVE_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    url = playbook_engine.settings.database_url

    def run(*args: str) -> Result:
        return runner.invoke(cli.app, [*args, "--database-url", url])

    yield run


def test_demote_status_and_restore(invoke: Invoke, playbook_engine: Engine) -> None:
    result = invoke("autonomy", "demote", "drift_alert", "--reason", "conversion fell 40%")
    assert result.exit_code == 0, result.output
    assert "digital_program demoted to approve (drift_alert)" in result.output

    status = invoke("autonomy", "status")
    assert status.exit_code == 0, status.output
    row = next(line for line in status.output.splitlines() if "digital_program" in line)
    assert "auto" in row and "approve" in row and "drift_alert: conversion fell 40%" in row
    assert playbook_engine.demoted_levels() == {"digital_program": "approve"}

    again = invoke("autonomy", "demote", "drift_alert", "--reason", "still falling")
    assert "nothing changed" in again.output

    restored = invoke("autonomy", "restore", "digital_program", "--reason", "retrained")
    assert restored.exit_code == 0, restored.output
    assert "digital_program restored" in restored.output
    assert playbook_engine.demoted_levels() == {}
    assert "no action is demoted" in invoke("autonomy", "status").output


def test_errors_are_one_line_messages(playbook_engine: Engine) -> None:
    env = {**os.environ, "NEXTMOVE_DATABASE_URL": playbook_engine.settings.database_url}
    command = [sys.executable, "-m", "nextmove", "autonomy"]
    restore = subprocess.run(
        [*command, "restore", "digital_program", "--reason", "x"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert restore.returncode == 1
    assert "error: digital_program is not demoted" in restore.stderr
    assert "Traceback" not in restore.stderr
    unknown = subprocess.run(
        [*command, "demote", "solar_flare", "--reason", "x"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert unknown.returncode == 2
    assert "guardrail_breach" in unknown.stderr  # the choices are listed
