"""Decision commands: decide for every account (or one), list decisions, learn."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from nextmove.cli.console import console
from nextmove.cli.session import DatabaseOption, open_engine
from nextmove.decisions.service import DecisionRun

__all__ = [
    "AsOfOption",
    "as_of_time",
    "decide_command",
    "decisions_command",
    "learn_command",
    "print_run",
]

AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="decide as of this date (YYYY-MM-DD, end of that day UTC) or ISO time; default now",
        show_default=False,
    ),
]


def as_of_time(text: str | None) -> datetime:
    """The time an ``--as-of`` text names (a date: the end of that day, UTC; none: now)."""
    if text is None:
        return datetime.now(UTC)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(23, 59, 59), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO time", param_hint="--as-of"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def decide_command(
    as_of: AsOfOption = None,
    account: Annotated[
        str | None, typer.Option("--account", help="decide only this account (real time)")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Decide the next move of every account (or one) and store the decisions."""
    moment = as_of_time(as_of)
    with open_engine(database_url) as engine:
        run = engine.decide_for(account, as_of=moment) if account else engine.decide(as_of=moment)
    print_run(run)


def print_run(run: DecisionRun) -> None:
    decisions = run.decisions
    console.print(
        f"decision run {run.run_id} ({run.mode}) as of {run.as_of:%Y-%m-%d %H:%M} UTC · "
        f"playbook v{run.playbook_version} · model {run.model_version}"
    )
    table = Table(title=f"{decisions.height} accounts decided")
    for column in ("action", "autonomy", "accounts", "expected value"):
        table.add_column(column, justify="right" if column != "action" else "left")
    grouped = (
        decisions.group_by("action", "autonomy")
        .agg(pl.len().alias("n"), pl.col("expected_value").sum().alias("value"))
        .sort("action", "autonomy")
    )
    for action, autonomy, n, value in grouped.iter_rows():
        shown = "" if action == "no_action" else f"{value:,.0f}"
        table.add_row(action, autonomy if action != "no_action" else "", f"{n:,}", shown)
    console.print(table)
    summary = run.batch.summary
    console.print(
        f"holdout {summary['holdout']:,} · explored {summary['explored']:,} · "
        f"total expected incremental value {summary['expected_value']:,.0f}"
    )
    binding = run.batch.shadow_prices.filter(pl.col("binding")).sort(
        "shadow_price", descending=True
    )
    for constraint, _limit, _used, price, _binding in binding.head(5).iter_rows():
        console.print(
            f"capacity {escape(constraint)} is full: one more place is worth ≈ {price:,.0f}"
        )
    if decisions.height == 1:
        row = decisions.row(0, named=True)
        reasons = json.loads(row["reasons"])
        console.print(f"{escape(row['account_id'])}: {escape(reasons['why'])}")
        if reasons.get("runner_up"):
            console.print(f"  runner-up: {escape(reasons['runner_up'])}")
        for blocked in reasons.get("blocked") or []:
            console.print(f"  blocked: {escape(blocked)}")


def decisions_command(
    run: Annotated[int | None, typer.Option("--run", help="only this decision run")] = None,
    account: Annotated[str | None, typer.Option("--account", help="only this account")] = None,
    limit: Annotated[int, typer.Option(help="at most this many (newest first)")] = 50,
    output: Annotated[
        Path | None, typer.Option("--output", help="write them all as CSV to this file")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """List stored decisions with their reasons (or write them to a CSV file)."""
    with open_engine(database_url) as engine:
        found = engine.decisions(run_id=run, account_id=account, limit=None if output else limit)
    if output is not None:
        found.write_csv(output)
        console.print(f"{found.height:,} decisions written to {output}")
        return
    table = Table(title=f"{found.height} decisions")
    for column in ("run", "account", "action", "product", "value", "autonomy", "why"):
        table.add_column(column)
    for row in found.iter_rows(named=True):
        table.add_row(
            str(row["run_id"]),
            escape(row["account_id"]),
            row["action"],
            escape(row["product_id"] or ""),
            f"{row['expected_value']:,.0f}",
            row["autonomy"],
            escape(json.loads(row["reasons"])["why"]),
        )
    console.print(table)


def learn_command(as_of: AsOfOption = None, database_url: DatabaseOption = None) -> None:
    """Refit the response model on logged decisions and their outcomes."""
    with open_engine(database_url) as engine:
        report = engine.learn(as_of=as_of_time(as_of))
    if not report.learned:
        console.print(
            f"nothing learned yet from {report.decisions:,} decisions ({report.rows:,} rows): "
            "decisions keep using the playbook's priors until outcomes come in"
        )
        return
    if report.review is not None:
        review = report.review
        console.print(
            f"challenger {review.challenger} {review.outcome}: {escape(review.reason)} "
            f"(value per account {review.value_challenger:,.0f} against the champion's "
            f"{review.value_champion:,.0f}, accounts {review.accounts_challenger:,} / "
            f"{review.accounts_champion:,})"
        )
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in sorted(report.metrics.items()))
    status = report.status.value if report.status else "not registered"
    console.print(
        f"model {report.model_version} fitted on {report.rows:,} rows from "
        f"{report.decisions:,} decisions: {status} ({metrics})"
    )
    for reason in report.reasons:
        console.print(f"  · {escape(reason)}")
    console.print(
        f"champion: {report.champion or 'the playbook priors'}; "
        f"challenger: {report.challenger or 'none'}"
    )
