"""`nextmove demo` end to end: generate, import through the importers, report readiness."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

NEXTMOVE = str(Path(sys.executable).parent / "nextmove")
PLAYBOOK = str(Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml")


def test_demo_imports_the_synthetic_company_and_reports(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "NEXTMOVE_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "COLUMNS": "200",
    }
    result = subprocess.run(
        [
            NEXTMOVE,
            "demo",
            "--accounts",
            "600",
            "--seed",
            "3",
            "--workdir",
            str(tmp_path / "demo"),
            "--playbook",
            PLAYBOOK,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Readiness by decision type" in out
    assert "Cross-sell" in out and "Digital programme" in out
    assert "quarantined" in out  # the generator injects a few bad rows
    assert "applied as version 1" in " ".join(out.split())
    html = (tmp_path / "demo" / "readiness.html").read_text(encoding="utf-8")
    assert "<html" in html and "Cross-sell" in html

    again = subprocess.run(
        [
            NEXTMOVE,
            "demo",
            "--accounts",
            "600",
            "--seed",
            "3",
            "--workdir",
            str(tmp_path / "demo"),
            "--playbook",
            PLAYBOOK,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    # The same company imported twice changes nothing.
    assert " 0 new, 0 changed" in again.stdout
    assert "imported 600: 0 new, 0 changed, 600 unchanged" in again.stdout
    assert "already active as version 1" in " ".join(again.stdout.split())
