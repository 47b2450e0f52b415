"""Prometheus metrics of the agent loop, on a registry of its own (served when asked)."""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from nextmove.loop.model import CycleReport, LoopStatus

__all__ = ["LoopMetrics"]


class LoopMetrics:
    """Counters and gauges updated after every cycle; ``serve`` exposes them over HTTP."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.cycles = Counter("nextmove_cycles", "Loop cycles run", registry=r)
        self.errors = Counter("nextmove_cycle_errors", "Cycles that failed", registry=r)
        self.duration = Histogram(
            "nextmove_cycle_seconds",
            "Wall time of one cycle",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=r,
        )
        self.decisions = Counter(
            "nextmove_decisions", "Acting decisions by autonomy", ["autonomy"], registry=r
        )
        self.urgent = Counter(
            "nextmove_urgent_accounts", "Accounts re-decided on an urgent signal", registry=r
        )
        self.dispatched = Counter(
            "nextmove_dispatched", "Outbox sends by result", ["result"], registry=r
        )
        self.ingested = Counter(
            "nextmove_ingested_rows", "Rows imported from the inbox", registry=r
        )
        self.outbox = Gauge(
            "nextmove_outbox_items", "Outbox items by status", ["status"], registry=r
        )
        self.oldest_due = Gauge(
            "nextmove_outbox_oldest_due_seconds", "Age of the oldest due outbox item", registry=r
        )
        self.approvals = Gauge(
            "nextmove_approvals_pending", "Approval requests waiting for people", registry=r
        )
        self.last_cycle = Gauge(
            "nextmove_last_cycle_timestamp_seconds", "When the last cycle finished", registry=r
        )
        self._server: WSGIServer | None = None

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        """Serve ``/metrics`` on ``addr:port`` from a background thread."""
        self._server, _thread = start_http_server(port, addr=addr, registry=self.registry)

    def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def observe(self, report: CycleReport, status: LoopStatus) -> None:
        """Count what a cycle did and set the queue gauges from ``status``."""
        self.cycles.inc()
        if report.error:
            self.errors.inc()
        self.duration.observe(report.wall_seconds)
        if report.finished_at is not None:
            self.last_cycle.set(report.finished_at.timestamp())
        for level, count in (
            ("auto", report.auto),
            ("approve", report.approve),
            ("recommend", report.recommend),
        ):
            self.decisions.labels(level).inc(count)
        self.urgent.inc(report.urgent_accounts)
        for result, count in (
            ("sent", report.sent),
            ("retrying", report.retrying),
            ("dead", report.dead),
        ):
            self.dispatched.labels(result).inc(count)
        self.ingested.inc(report.ingested_rows)
        for state, count in status.outbox.items():
            self.outbox.labels(state.value).set(count)
        self.oldest_due.set(status.oldest_due_seconds or 0.0)
        self.approvals.set(status.approvals_pending)
