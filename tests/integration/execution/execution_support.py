"""What the execution integration tests share: a recording HTTP receiver, scripted
connectors, a simulated crash and a decision factory."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import func, insert, select

from nextmove.execution import OutboxItem, Receipt
from nextmove.store import tables as t


@dataclass(frozen=True)
class Recorded:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """What the receiver answers to one request."""

    status: int = 200
    body: bytes = b'{"id": "task-1"}'
    delay: float = 0.0


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records requests and answers from a script."""

    url: str
    requests: list[Recorded] = field(default_factory=list)
    script: deque[Reply] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies`` (then 200 again)."""
        self.script.extend(replies)

    def next_reply(self, request: Recorded) -> Reply:
        with self.lock:
            self.requests.append(request)
            return self.script.popleft() if self.script else Reply()


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """Start a receiver on a free port; stop it afterwards."""
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            request = Recorded(self.path, {k: v for k, v in self.headers.items()}, body)
            reply = holder["receiver"].next_reply(request)
            if reply.delay:
                time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:
                pass  # the client gave up waiting (timeout tests)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    holder["receiver"] = Receiver(url=f"http://{host}:{port}/hooks/nextmove")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield holder["receiver"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def free_port() -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SimulatedCrash(BaseException):
    """The process dying mid-pass: not an Exception, so nothing catches it on the way."""


@dataclass
class ScriptedConnector:
    """A connector that records what it is given and fails as scripted.

    ``script`` holds exceptions to raise on the next sends (None = succeed); ``after``
    runs once the send happened (to crash after delivery, before the outbox records it).
    """

    name: str = "scripted"
    script: deque[BaseException | None] = field(default_factory=deque)
    sent: list[OutboxItem] = field(default_factory=list)
    attempts: list[OutboxItem] = field(default_factory=list)
    after: Callable[[OutboxItem], None] | None = None

    def fail(self, *errors: BaseException | None) -> ScriptedConnector:
        self.script.extend(errors)
        return self

    def send(self, item: OutboxItem) -> Receipt:
        self.attempts.append(item)
        error = self.script.popleft() if self.script else None
        if error is not None:
            raise error
        self.sent.append(item)
        if self.after is not None:
            self.after(item)
        return Receipt(reference=f"ref-{item.outbox_id}", details={"attempt": item.attempts})

    def close(self) -> None:
        return None


def insert_decisions(
    database: SqlEngine,
    at: datetime,
    accounts: list[str],
    *,
    action: str = "sales_outreach",
    product_id: str | None = "prod-analytics-pro",
) -> list[dict[str, Any]]:
    """Store one decision run with a decision per account; return the decision rows."""
    with database.begin() as connection:
        run_id = connection.execute(
            insert(t.decision_runs)
            .values(
                mode="batch",
                as_of=at,
                started_at=at,
                finished_at=at,
                status="done",
                playbook_version=None,
                model_version="test-model",
                accounts=len(accounts),
                actions=len(accounts),
                summary="{}",
            )
            .returning(t.decision_runs.c.run_id)
        ).scalar_one()
        first = connection.execute(
            select(func.coalesce(func.max(t.decisions.c.decision_id), 0))
        ).scalar_one()
        rows = [
            {
                "decision_id": first + n,
                "run_id": run_id,
                "account_id": account,
                "action": action,
                "product_id": product_id,
                "as_of": at,
                "expected_value": 1200.0 + n,
                "score": 0.4,
                "uplift": 0.05,
                "confidence": 0.8,
                "propensity": 0.9,
                "explored": False,
                "holdout": False,
                "autonomy": "auto",
                "owner_id": f"owner-{account}",
                "reasons": json.dumps([{"code": "intent", "text": "asked for pricing"}]),
                "playbook_version": None,
                "model_version": "test-model",
            }
            for n, account in enumerate(accounts, start=1)
        ]
        connection.execute(insert(t.decisions), rows)
    return rows


class Clock(Protocol):
    """The ``clock`` fixture: callable, and movable through ``now``."""

    now: datetime

    def __call__(self) -> datetime: ...
