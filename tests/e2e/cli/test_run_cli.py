"""`nextmove run` and `nextmove status` as a user runs them: start, stop politely, look."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import httpx
from cli_support import nextmove
from loop_crash_support import prepare_store, start_loop, stop_politely, wait_for
from sqlalchemy import create_engine, text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cycles(url: str) -> int:
    database = create_engine(url)
    try:
        with database.connect() as connection:
            found = connection.execute(text("SELECT cycles FROM agent_state")).scalar()
    except Exception:  # the table does not exist until the loop's first start migrates
        found = None
    finally:
        database.dispose()
    return int(found or 0)


def test_the_loop_runs_until_sigterm_and_status_shows_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'loop.db'}"
    prepare_store(url, tmp_path / "company")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    port = _free_port()
    loop = start_loop(url, tmp_path, "--inbox", str(inbox), "--metrics-port", str(port))
    try:
        assert wait_for(lambda: _cycles(url) >= 2, timeout=30), "the loop made no cycles"
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert (
            "nextmove_cycles_total" in metrics
            and 'nextmove_dispatched_total{result="sent"}' in metrics
        )
    finally:
        code, out, err = stop_politely(loop)
    assert code == 0, err
    assert "loop started (daily batch" in out and "batch run 1" in out
    assert "loop stopped after" in out

    status = nextmove(url, "status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    shown = " ".join(status.stdout.replace("│", " ").split())
    assert "last cycle" in shown and "errors 0" in shown
    assert "outbox sent" in shown and "approvals pending" in shown


def test_sigint_stops_the_loop_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'loop.db'}"
    prepare_store(url, tmp_path / "company", accounts=100)
    loop = start_loop(url, tmp_path)
    assert wait_for(lambda: _cycles(url) >= 1, timeout=30)
    loop.send_signal(signal.SIGINT)
    out, err = loop.communicate(timeout=20)
    assert loop.returncode == 0, err
    assert "loop stopped after" in out
