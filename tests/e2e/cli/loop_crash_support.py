"""What the loop's end-to-end tests share: a prepared store, and `nextmove run` as a
process that can be stopped politely or killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from nextmove import Engine
from nextmove.sim import SimConfig, generate, write_company

NEXTMOVE = str(Path(sys.executable).parent / "nextmove")
PLAYBOOK = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"


def prepare_store(url: str, folder: Path, *, accounts: int = 400) -> None:
    """Import a small synthetic company and apply the example playbook (nothing decided)."""
    manifest = write_company(generate(SimConfig(seed=3, accounts=accounts)), folder, fmt="parquet")
    with Engine.open(url) as engine:
        engine.import_folder(manifest.parent)
        engine.apply_playbook(PLAYBOOK, message="the example rules")


def start_loop(
    url: str, cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start `nextmove run ARGS` on the store, its output captured."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEXTMOVE_")}
    environ.update(NEXTMOVE_DATABASE_URL=url, COLUMNS="200", NO_COLOR="1", TERM="dumb")
    environ.update(env or {})
    return subprocess.Popen(
        [NEXTMOVE, "run", "--poll", "0.2", *args],
        cwd=cwd,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], bool], *, timeout: float, step: float = 0.05) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def stop_politely(process: subprocess.Popen[str], *, timeout: float = 20) -> tuple[int, str, str]:
    """Send SIGTERM and wait; return the exit code and the output."""
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def kill_hard(process: subprocess.Popen[str]) -> None:
    """kill -9: no handler runs, nothing is flushed or committed."""
    process.kill()
    process.communicate(timeout=10)
