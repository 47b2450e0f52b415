"""Measurement commands: impact against the holdout, drift monitoring, evaluation, report."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from nextmove.cli.console import console, error_console
from nextmove.cli.session import DatabaseOption, open_engine
from nextmove.measurement.model import DriftReport, ImpactReport, Metric, PolicyEvaluation
from nextmove.measurement.monitoring import MonitorSettings

__all__ = ["evaluate_command", "impact_command", "monitor_command", "report_command"]


class Output(StrEnum):
    TABLE = "table"
    JSON = "json"


AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="YYYY-MM-DD (end of that day UTC) or ISO time; default now"),
]
Since = Annotated[
    str | None, typer.Option("--since", help="only decisions from this date (YYYY-MM-DD)")
]
Format = Annotated[Output, typer.Option("--format", help="table or json")]


def _refuse(name: str, problem: str) -> NoReturn:
    """Print one ``error: NAME: problem`` line and exit 2 (bad input), before any work."""
    error_console.print(
        f"[bold red]error:[/] {escape(name)}: {escape(problem)}", highlight=False, soft_wrap=True
    )
    raise typer.Exit(2)


def _moment(text: str | None, *, end_of_day: bool = True, name: str = "--as-of") -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        if len(text) == 10:
            at = time(23, 59, 59) if end_of_day else time(0)
            return datetime.combine(date.fromisoformat(text), at, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        _refuse(name, f"{text!r} is not a date (YYYY-MM-DD) or an ISO time")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _since(text: str | None) -> datetime | None:
    return None if text is None else _moment(text, end_of_day=False, name="--since")


def impact_command(
    as_of: AsOf = None,
    since: Since = None,
    by: Annotated[
        list[str] | None, typer.Option("--by", help="segment, motion, product (repeatable)")
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(help="percentile bootstrap resamples (0: normal interval)")
    ] = 0,
    output: Format = Output.TABLE,
    database_url: DatabaseOption = None,
) -> None:
    """Incremental lift against the randomised holdout, with 95% confidence intervals."""
    dimensions = tuple(by) if by else ("segment", "motion", "product")
    unknown = set(dimensions) - {"segment", "motion", "product"}
    if unknown:
        _refuse("--by", f"unknown {', '.join(sorted(unknown))} (segment, motion or product)")
    until, start = _moment(as_of), _since(since)
    with open_engine(database_url) as engine:
        report = engine.impact(as_of=until, since=start, dimensions=dimensions, bootstrap=bootstrap)
    if output is Output.JSON:
        console.print_json(json.dumps(_impact_json(report), default=str))
        return
    _print_impact(report)


def _impact_json(report: ImpactReport) -> dict[str, object]:
    return {
        "since": report.since,
        "until": report.until,
        "attribution_days": report.attribution_days,
        "accounts": report.accounts,
        "decisions": report.decisions,
        "predicted_per_treated_account": report.predicted,
        "rows": [
            {**asdict(row), "metric": row.metric.value, "relative": row.relative}
            for row in report.rows
        ],
    }


def _print_impact(report: ImpactReport) -> None:
    if not report.rows:
        console.print("no lift yet: decide for accounts in and out of the holdout first")
        return
    console.print(
        f"{report.accounts:,} accounts, {report.decisions:,} decisions from "
        f"{report.since:%Y-%m-%d} to {report.until:%Y-%m-%d %H:%M} UTC · the decisions expected "
        f"{report.predicted:,.0f} revenue per treated account"
    )
    table = Table(title="lift against the holdout (per account, 95% interval)")
    for column in ("metric", "by", "group", "treated", "held out", "lift", "interval", "rel."):
        table.add_column(column, justify="left" if column in ("metric", "by", "group") else "right")
    for row in report.rows:
        relative = f"{row.relative:+.0%}" if row.relative is not None else ""
        table.add_row(
            row.metric.value, row.dimension, escape(row.group), f"{row.treated:,}",
            f"{row.control:,}", _shown(row.metric, row.lift.value),
            f"[{_shown(row.metric, row.lift.low)}, {_shown(row.metric, row.lift.high)}]",
            relative,
        )  # fmt: skip
    console.print(table)


def _shown(metric: Metric, value: float) -> str:
    if metric == Metric.REVENUE:
        return f"{value:,.0f}"
    return f"{value:.3f}" if metric == Metric.OPPORTUNITIES else f"{value:.2%}"


def monitor_command(
    as_of: AsOf = None,
    conversion_days: Annotated[
        int, typer.Option(help="a move converts when its account buys within these days")
    ] = 7,
    lookback_days: Annotated[int, typer.Option(help="days of decisions monitored")] = 56,
    reference_days: Annotated[
        int, typer.Option(help="first monitored days that set each motion's expected rate")
    ] = 14,
    engagement_days: Annotated[
        int, typer.Option(help="a touch engaged when its account sent a signal within these days")
    ] = 3,
    adapt: Annotated[
        bool, typer.Option(help="apply the playbook's drift_alert demotions on an alarm")
    ] = True,
    output: Format = Output.TABLE,
    database_url: DatabaseOption = None,
) -> None:
    """Look for drift; open an exception (evidence, proposed change) for each new alarm."""
    settings = MonitorSettings(
        lookback_days=lookback_days, reference_days=reference_days,
        conversion_days=conversion_days, engagement_days=engagement_days,
    )  # fmt: skip
    moment = _moment(as_of)
    with open_engine(database_url) as engine:
        report = engine.monitor(as_of=moment, settings=settings, adapt=adapt)
    if output is Output.JSON:
        console.print_json(json.dumps(asdict(report), default=str))
        return
    _print_drift(report)


def _print_drift(report: DriftReport) -> None:
    console.print(f"monitored: {', '.join(report.monitored)}")
    if not report.alarms:
        console.print("no drift detected")
    for alarm in report.alarms:
        console.print(f"[bold red]{alarm.kind}[/] {escape(alarm.summary)}")
        console.print(f"  proposed: {escape(alarm.proposal)}")
    if report.opened:
        console.print(f"opened exceptions {', '.join(map(str, report.opened))}")
    if report.demoted:
        console.print(f"demoted (until a person restores them): {', '.join(report.demoted)}")


def evaluate_command(
    playbook: Annotated[Path, typer.Option("--playbook", help="the candidate playbook (YAML)")],
    as_of: AsOf = None,
    runs: Annotated[int, typer.Option(help="evaluate on the newest N logged runs")] = 14,
    reward_days: Annotated[
        int | None, typer.Option(help="reward window (default: attribution_days)")
    ] = None,
    output: Format = Output.TABLE,
    database_url: DatabaseOption = None,
) -> None:
    """Estimate a candidate playbook's value from logged decisions (IPS, SNIPS, DR)."""
    moment = _moment(as_of)
    if not playbook.is_file():
        _refuse("--playbook", f"no playbook file at {playbook}")
    with open_engine(database_url) as engine:
        found = engine.evaluate(playbook, as_of=moment, runs=runs, reward_days=reward_days)
    if output is Output.JSON:
        console.print_json(json.dumps(asdict(found), default=str))
        return
    _print_evaluation(found)


def _print_evaluation(found: PolicyEvaluation) -> None:
    if not found.decisions:
        console.print("nothing to evaluate on: no logged run's reward window has closed yet")
        return
    console.print(
        f"{found.name}: {found.decisions:,} logged decisions, {found.matched:,} where it would "
        f"have done the same · logged policy brought {found.logged_value:,.1f} per decision"
    )
    table = Table(title="estimated value per decision (net of motion costs, 95% interval)")
    for column in ("estimator", "value", "interval", "effective sample"):
        table.add_column(column, justify="left" if column == "estimator" else "right")
    for e in found.estimates:
        table.add_row(
            e.method,
            f"{e.estimate.value:,.1f}",
            f"[{e.estimate.low:,.1f}, {e.estimate.high:,.1f}]",
            f"{e.effective_sample_size:,.0f}",
        )
    console.print(table)
    mix = ", ".join(f"{action} {n:,}" for action, n in found.by_action.items())
    console.print(f"the candidate would choose: {mix}")


def report_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write")] = Path(
        "measurement.html"
    ),
    as_of: AsOf = None,
    since: Since = None,
    database_url: DatabaseOption = None,
) -> None:
    """Write the self-contained HTML measurement report (works offline)."""
    until, start = _moment(as_of), _since(since)
    with open_engine(database_url) as engine:
        path = engine.measurement_report(output, as_of=until, since=start)
    console.print(f"measurement report written to {path}")
