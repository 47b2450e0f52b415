"""kill -9 the loop while it sends, again and again: nothing is lost, re-sends are exact.

The loop runs as a real process against a local receiver (an HTTP server, then an SMTP
server) that answers slowly, so kills land mid-dispatch: after a claim, during a send,
between a send and its record. Each restart finishes what the last one left. At the end
every queued action (auto, and approved while the loop was crashing) reached the
receiver, and every repeat carried the same idempotency key (Message-ID) and bytes.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from loop_crash_support import kill_hard, prepare_store, start_loop, stop_politely, wait_for

from nextmove import Engine, Settings
from nextmove.execution import OutboxStatus
from nextmove.execution.connectors import message_id
from nextmove.governance.model import ApprovalStatus

KILLS = 6
SEED = 11
ENV = {"NEXTMOVE_DISPATCH_LEASE_SECONDS": "1", "NEXTMOVE_DISPATCH_BATCH_SIZE": "4"}
RETRY = "retry: {max_attempts: 100, base_seconds: 0.2, max_seconds: 1}"


class Received:
    """Every delivery the receiver got: (key, body), in order."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    def add(self, key: str, body: bytes) -> None:
        with self.lock:
            self.items.append((key, body))

    def count(self) -> int:
        with self.lock:
            return len(self.items)


@contextmanager
def webhook_receiver(received: Received) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.add(self.headers["Idempotency-Key"], body)
            time.sleep(0.05)  # slow enough that kills land mid-dispatch
            try:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender was killed while waiting

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def smtp_receiver(received: Received) -> Iterator[int]:
    class Mailbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            content = bytes(envelope.content)
            key = next(
                line.split(b":", 1)[1].strip().decode()
                for line in content.splitlines()
                if line.lower().startswith(b"message-id:")
            )
            received.add(key, content)
            await asyncio.sleep(0.05)
            return "250 Message accepted"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _crash_repeatedly(tmp_path: Path, connectors: str, received: Received) -> dict[str, Any]:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    prepare_store(url, tmp_path / "company")
    config = tmp_path / "connectors.yaml"
    config.write_text(connectors, encoding="utf-8")
    args = ("--connectors", str(config), "--learn-every-days", "0")
    rng = random.Random(SEED)
    approved: list[int] = []
    started = time.monotonic()
    for kill in range(KILLS):
        loop = start_loop(url, tmp_path, *args, env=ENV)
        seen = received.count()
        # Kill once this process is sending (or soon after it started, if nothing is due).
        wait_for(lambda seen=seen: received.count() > seen, timeout=15, step=0.01)
        time.sleep(rng.uniform(0.0, 0.25))
        kill_hard(loop)
        if kill == 1:
            approved = _approve_everything(url, config)
    loop = start_loop(url, tmp_path, *args, env=ENV)
    try:
        finished = wait_for(lambda: _all_sent(url), timeout=40, step=0.2)
    finally:
        code, _out, err = stop_politely(loop)
    assert code == 0, err
    assert finished, f"the outbox did not drain after the last restart: {_counts(url)}\n{err}"
    return {"url": url, "approved": approved, "seconds": time.monotonic() - started}


def _approve_everything(url: str, connectors: Path) -> list[int]:
    # An approver's process shares the installation's connectors file, as in production.
    with Engine.open(url, settings=Settings(connectors_file=connectors)) as engine:
        pending = engine.approvals(ApprovalStatus.PENDING)
        return [
            approval.approval_id
            for approval in pending
            if engine.approve(approval.approval_id).status is ApprovalStatus.APPROVED
        ]


def _counts(url: str) -> dict[OutboxStatus, int]:
    with Engine.open(url) as engine:
        return engine.queues().outbox


def _all_sent(url: str) -> bool:
    with Engine.open(url) as engine:
        counts = engine.queues().outbox
    return bool(counts) and set(counts) == {OutboxStatus.SENT}


def _check(url: str, received: Received, approved: list[int], key_of: Callable[[str], str]) -> int:
    """Assert nothing was lost and repeats were exact; return the number of re-sends."""
    with Engine.open(url) as engine:
        items = engine.outbox(limit=100_000)
    assert approved, "no approval was approved during the crashes"
    assert sum(1 for item in items if item.decision_id is None) >= len(approved)
    assert all(item.status is OutboxStatus.SENT for item in items)
    bodies: dict[str, set[bytes]] = defaultdict(set)
    for key, body in received.items:
        bodies[key].add(body)
    expected = {key_of(item.idempotency_key) for item in items}
    assert expected <= set(bodies), f"lost: {sorted(expected - set(bodies))[:5]}"
    assert set(bodies) <= expected, "the receiver got something that was never queued"
    assert all(len(variants) == 1 for variants in bodies.values()), "a re-send differed"
    return len(received.items) - len(bodies)


def test_kill_9_during_webhook_dispatch_loses_nothing(tmp_path: Path) -> None:
    received = Received()
    with webhook_receiver(received) as port:
        connectors = (
            "default: hook\nconnectors:\n"
            f"  hook: {{type: webhook, url: 'http://127.0.0.1:{port}/hooks', {RETRY}}}\n"
        )
        run = _crash_repeatedly(tmp_path, connectors, received)
    resends = _check(run["url"], received, run["approved"], lambda key: key)
    print(
        f"\nwebhook: {KILLS} kill -9, {len(received.items)} deliveries of "
        f"{len(received.items) - resends} actions, {resends} re-sends, {run['seconds']:.1f}s"
    )
    assert resends <= KILLS * 4  # at most one claimed batch per kill is sent again


def test_kill_9_during_smtp_dispatch_loses_nothing(tmp_path: Path) -> None:
    received = Received()
    with smtp_receiver(received) as port:
        connectors = (
            "default: mail\nconnectors:\n"
            f"  mail: {{type: smtp, host: 127.0.0.1, port: {port}, "
            f"from_address: nextmove@example.com, to: team@example.com, {RETRY}}}\n"
        )
        run = _crash_repeatedly(tmp_path, connectors, received)
    resends = _check(
        run["url"], received, run["approved"], lambda key: message_id(key, "example.com")
    )
    print(
        f"\nsmtp: {KILLS} kill -9, {len(received.items)} messages for "
        f"{len(received.items) - resends} actions, {resends} re-sends, {run['seconds']:.1f}s"
    )
    assert resends <= KILLS * 4
