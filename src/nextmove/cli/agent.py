"""Loop commands: ``run`` (the agent loop), ``status``, ``outbox`` and ``dispatch``."""

from __future__ import annotations

import signal
import threading
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nextmove.agent import Agent
from nextmove.cli.console import console
from nextmove.cli.session import DatabaseOption, open_engine
from nextmove.execution.model import OutboxStatus
from nextmove.loop.metrics import LoopMetrics
from nextmove.loop.model import Cadence, CycleReport, LoopSchedule, LoopStatus

__all__ = ["dispatch_command", "outbox_command", "print_status", "run_command", "status_command"]

ConnectorsOption = Annotated[
    Path | None,
    typer.Option(
        "--connectors",
        help="connectors file (default: NEXTMOVE_CONNECTORS_FILE, else dry run)",
        show_default=False,
    ),
]


def run_command(
    every: Annotated[Cadence, typer.Option(help="how often every account is decided")] = (
        Cadence.DAILY
    ),
    poll: Annotated[
        float, typer.Option(help="seconds between cycles (urgent signals, approvals, sends)")
    ] = 1.0,
    inbox: Annotated[
        Path | None, typer.Option(help="folder whose files (signals-*.csv, …) are imported")
    ] = None,
    learn_every_days: Annotated[
        int, typer.Option(help="refit the response model every N days (0: never)")
    ] = 7,
    metrics_port: Annotated[
        int | None, typer.Option(help="serve Prometheus metrics on this port")
    ] = None,
    cycles: Annotated[
        int | None, typer.Option(help="stop after this many cycles (default: run until stopped)")
    ] = None,
    connectors: ConnectorsOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Run the agent loop until SIGTERM or Ctrl-C: ingest, decide, queue, send, learn."""
    schedule = LoopSchedule(
        batch_every=every.period,
        learn_every=timedelta(days=learn_every_days) if learn_every_days > 0 else None,
        poll_seconds=poll,
        inbox=inbox,
    )
    stop = threading.Event()

    def graceful(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, graceful) for s in (signal.SIGTERM, signal.SIGINT)}
    metrics = LoopMetrics()
    try:
        with open_engine(database_url, connectors_file=connectors) as engine:
            port = metrics_port or engine.settings.metrics_port
            if port:
                metrics.serve(port)
                console.print(f"metrics on http://127.0.0.1:{port}/metrics")
            agent = Agent(engine, schedule=schedule, metrics=metrics)
            console.print(
                f"loop started ({every.value} batch, every {poll:g}s) on "
                f"{engine.settings.database_url}; stop with Ctrl-C or SIGTERM"
            )
            ran = 0
            while not stop.is_set() and (cycles is None or ran < cycles):
                report = agent.cycle(stop)
                ran += 1
                _print_cycle(report)
                if cycles is None or ran < cycles:
                    stop.wait(poll)
            console.print(f"loop stopped after {ran} cycle(s)")
    finally:
        metrics.close()
        for number, handler in previous.items():
            signal.signal(number, handler)


def _print_cycle(report: CycleReport) -> None:
    busy = (
        report.decided or report.sent or report.retrying or report.dead or report.ingested_rows
    ) or report.approved_enqueued
    if report.error:
        console.print(f"[red]cycle failed:[/] {escape(report.error)}")
    elif busy:
        what = (
            f"batch run {report.batch_run}"
            if report.batch_run
            else (
                f"{report.urgent_accounts} urgent account(s)"
                if report.urgent_accounts
                else "no run"
            )
        )
        console.print(
            f"{report.started_at:%Y-%m-%d %H:%M:%S} {what}: {report.auto} auto, "
            f"{report.approve} to approve, {report.recommend} recommended · "
            f"{report.approved_enqueued} approved queued · sent {report.sent}, "
            f"retrying {report.retrying}, dead {report.dead}"
            + (f" · stopped {report.stopped}" if report.stopped else "")
        )


def status_command(database_url: DatabaseOption = None) -> None:
    """Show the loop's health: last cycle, lag, errors, and the queues."""
    with open_engine(database_url) as engine:
        print_status(engine.status())


def print_status(status: LoopStatus) -> None:
    """Print a status as two small tables."""
    loop = Table(title="loop", show_header=False)
    state = status.state
    if state is None:
        loop.add_row("state", "never ran (start it with `nextmove run`)")
    else:
        age = (status.now - state.heartbeat_at).total_seconds()
        loop.add_row("last cycle", _at(state.last_cycle_at))
        loop.add_row("heartbeat", f"{age:,.0f}s ago")
        loop.add_row("cycles", f"{state.cycles:,}")
        loop.add_row("last batch", _at(state.last_batch_at))
        if state.signal_watermark is not None:
            lag = (status.now - state.signal_watermark).total_seconds()
            loop.add_row("signal lag", f"{lag:,.0f}s")
        loop.add_row("errors", f"{state.errors:,}")
        if state.last_error:
            loop.add_row("last error", escape(state.last_error))
    console.print(loop)
    queues = Table(title="queues", show_header=False)
    for outbox_status in OutboxStatus:
        queues.add_row(f"outbox {outbox_status.value}", f"{status.outbox.get(outbox_status, 0):,}")
    oldest = status.oldest_due_seconds
    queues.add_row("oldest due", "-" if oldest is None else f"{oldest:,.0f}s")
    queues.add_row("approvals pending", f"{status.approvals_pending:,}")
    queues.add_row("exceptions open", f"{status.exceptions_open:,}")
    console.print(queues)


def _at(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def outbox_command(
    status: Annotated[OutboxStatus | None, typer.Option(help="only items in this state")] = None,
    account: Annotated[str | None, typer.Option(help="only this account")] = None,
    limit: Annotated[int, typer.Option(help="how many to show")] = 50,
    database_url: DatabaseOption = None,
) -> None:
    """List outbox items: what was (or will be) sent, to whom, and how it went."""
    with open_engine(database_url) as engine:
        items = engine.outbox(status=status, account_id=account, limit=limit)
    table = Table(title=f"{len(items)} outbox item(s)")
    for column in ("id", "account", "action", "connector", "assignee", "status", "tries", "error"):
        table.add_column(column)
    for item in items:
        table.add_row(
            str(item.outbox_id),
            item.account_id,
            item.action,
            item.connector,
            item.assignee or "",
            item.status.value,
            str(item.attempts),
            escape((item.last_error or "")[:80]),
        )
    console.print(table)


def dispatch_command(
    connectors: ConnectorsOption = None, database_url: DatabaseOption = None
) -> None:
    """Send the outbox items due now (one pass)."""
    with open_engine(database_url, connectors_file=connectors) as engine:
        report = engine.dispatch()
    console.print(
        f"sent {report.sent}, retrying {report.retrying}, dead {report.dead}"
        + (f", stopped {report.stopped}" if report.stopped else "")
        + (f", deferred {report.deferred}" if report.deferred else "")
    )
