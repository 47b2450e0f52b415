"""`nextmove demo` end to end: generate, import through the importers, report readiness."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

NEXTMOVE = str(Path(sys.executable).parent / "nextmove")
PLAYBOOK = str(Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml")


def _demo(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    workdir = str(tmp_path / "demo")
    return subprocess.run(
        [NEXTMOVE, "demo", "--accounts", "600", "--seed", "3", "--workdir", workdir,
         "--playbook", PLAYBOOK, "--days", "3"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "NEXTMOVE_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
            "COLUMNS": "200",
        },
        cwd=tmp_path,
        timeout=120,
        check=False,
    )  # fmt: skip


def test_demo_imports_the_synthetic_company_and_reports(tmp_path: Path) -> None:
    result = _demo(tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Readiness by decision type" in out
    assert "Cross-sell" in out and "Digital programme" in out
    assert "quarantined" in out  # the generator injects a few bad rows
    assert "applied as version 1" in " ".join(out.split())
    html = (tmp_path / "demo" / "readiness.html").read_text(encoding="utf-8")
    assert "<html" in html and "Cross-sell" in html
    # …then runs the agent loop for simulated days: decide, queue, approve, send, answer.
    assert "decision run 1 (batch)" in out and "600 accounts decided" in out
    assert "no_action" in out
    assert "3 simulated days" in out and "decisions by motion" in out
    assert "approved by people" in out and "blocked, by guardrail" in out
    assert "true incremental value gained" in out

    again = _demo(tmp_path)
    assert again.returncode == 0, again.stderr
    # The same company imported twice changes nothing, and the playbook is already active.
    assert "imported 600: 0 new, 0 changed, 600 unchanged" in again.stdout
    assert "already active as version 1" in " ".join(again.stdout.split())
    assert "decision run 4 (batch)" in again.stdout  # the first demo's loop made runs 1-3
