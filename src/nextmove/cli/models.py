"""Model registry commands: list the fitted models, show one's evidence, change its status."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nextmove.cli.console import console, error_console
from nextmove.cli.decisions import AsOfOption, as_of_time
from nextmove.cli.session import DatabaseOption, open_engine
from nextmove.learning.model import ModelRecord, ModelStatus

__all__ = ["app"]

app = typer.Typer(
    help="The model registry: champion, challenger, candidates; promote or retire one.",
    no_args_is_help=True,
)

VersionArgument = Annotated[str, typer.Argument(help="model version, e.g. m-1a2b3c4d5e6f")]
ReasonOption = Annotated[
    str, typer.Option("--reason", "-r", help="why (kept in the audit log)", show_default=False)
]


@app.command("list")
def list_models(
    status: Annotated[
        ModelStatus | None, typer.Option("--status", help="only models of this status")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Every registered model, newest first, with the data it learned from."""
    with open_engine(database_url) as engine:
        records = engine.models(status=status)
    if not records:
        console.print("no model is registered yet: `nextmove learn` fits one from outcomes")
        return
    table = Table(title="models")
    for column in ("version", "status", "trained", "learned from", "rows", "log loss", "why"):
        table.add_column(column)
    for record in records:
        reasons = record.evaluation.get("reasons") or []
        table.add_row(
            record.version,
            record.status.value,
            f"{record.trained_at:%Y-%m-%d %H:%M}",
            _range(record),
            f"{record.rows:,}",
            f"{record.metrics['log_loss']:.4f}" if "log_loss" in record.metrics else "",
            escape(str(reasons[0])) if reasons else "",
        )
    console.print(table)


@app.command("show")
def show(version: VersionArgument, database_url: DatabaseOption = None) -> None:
    """One model's record: metrics, the gate's evidence, its reviews (JSON)."""
    with open_engine(database_url) as engine:
        records = engine.models(version=version)
    if not records:
        error_console.print(
            f"no model {escape(repr(version))} is registered (see: nextmove models list)"
        )
        raise typer.Exit(2)
    record = records[0]
    values = {
        "version": record.version,
        "status": record.status.value,
        "trained_at": record.trained_at.isoformat(),
        "data_from": record.data_from.isoformat() if record.data_from else None,
        "as_of": record.as_of.isoformat(),
        "status_at": record.status_at.isoformat() if record.status_at else None,
        "rows": record.rows,
        "metrics": record.metrics,
        "evaluation": record.evaluation,
    }
    console.print_json(json.dumps(values, default=str))


@app.command("update")
def update(as_of: AsOfOption = None, database_url: DatabaseOption = None) -> None:
    """Correct the champion between refits by what its decisions since then brought."""
    with open_engine(database_url) as engine:
        found = engine.update_model(as_of=as_of_time(as_of))
    if found.base is None:
        console.print(f"nothing to update: {escape(found.reason)}")
        return
    factors = ", ".join(f"{a} {f:.2f}" for a, f in found.factors.items())
    console.print(
        f"measured {found.base} on {found.decisions:,} decisions since "
        f"{found.since:%Y-%m-%d} ({found.rows:,} rows): uplift factors {factors}"
    )
    console.print(f"{'updated' if found.registered else 'kept'}: {escape(found.reason)}")


@app.command("promote")
def promote(
    version: VersionArgument, reason: ReasonOption, database_url: DatabaseOption = None
) -> None:
    """Make a registered model the champion (the one before it is retired)."""
    _set(version, ModelStatus.CHAMPION, reason, database_url)


@app.command("challenge")
def challenge(
    version: VersionArgument, reason: ReasonOption, database_url: DatabaseOption = None
) -> None:
    """Make a registered model the challenger (it decides for the playbook's share)."""
    _set(version, ModelStatus.CHALLENGER, reason, database_url)


@app.command("retire")
def retire(
    version: VersionArgument, reason: ReasonOption, database_url: DatabaseOption = None
) -> None:
    """Stop a model serving (a retired champion leaves the playbook's priors deciding)."""
    _set(version, ModelStatus.RETIRED, reason, database_url)


def _set(version: str, status: ModelStatus, reason: str, database_url: str | None) -> None:
    with open_engine(database_url) as engine:
        record = engine.set_model_status(version, status, reason=reason)
    console.print(f"model {record.version} is now {record.status.value}")


def _range(record: ModelRecord) -> str:
    start = f"{record.data_from:%Y-%m-%d}" if record.data_from else "?"
    return f"{start} … {record.as_of:%Y-%m-%d}"
