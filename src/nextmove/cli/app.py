"""``nextmove``: the command line door to the Engine."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml

from nextmove.bootstrap import system_clock
from nextmove.cli.agent import dispatch_command, outbox_command, run_command, status_command
from nextmove.cli.autonomy import app as autonomy_app
from nextmove.cli.console import (
    console,
    error_console,
    folder_progress,
    import_progress,
    print_duplicates,
    print_quarantine,
    print_runs,
    print_summary,
    write_quarantine_csv,
)
from nextmove.cli.decisions import decide_command, decisions_command, learn_command
from nextmove.cli.demo import run_simulated_days
from nextmove.cli.governance import (
    approvals_app,
    audit_app,
    exceptions_app,
    kill_app,
    users_app,
)
from nextmove.cli.measurement import (
    evaluate_command,
    impact_command,
    monitor_command,
    report_command,
)
from nextmove.cli.models import app as models_app
from nextmove.cli.playbook import app as playbook_app
from nextmove.cli.session import DatabaseOption, open_engine
from nextmove.config import Settings
from nextmove.domain import RECORD_TYPES
from nextmove.engine import Engine
from nextmove.errors import ImportFailed, NextmoveError
from nextmove.foundation.mappings import available_mappings
from nextmove.foundation.model import FileFormat
from nextmove.foundation.readiness import ReadinessReport
from nextmove.foundation.report import render_html, render_json, render_markdown, render_rich

if TYPE_CHECKING:
    from nextmove.sim import SyntheticCompany

__all__ = ["app", "main"]

app = typer.Typer(
    name="nextmove",
    help="The next move for every account, inside the rules people set.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
sim_app = typer.Typer(help="The synthetic company.", no_args_is_help=True)
app.add_typer(sim_app, name="sim")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(kill_app, name="kill")
app.add_typer(approvals_app, name="approvals")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(playbook_app, name="playbook")
app.add_typer(autonomy_app, name="autonomy")
app.add_typer(models_app, name="models")
app.command("decide")(decide_command)
app.command("decisions")(decisions_command)
app.command("learn")(learn_command)
app.command("run")(run_command)
app.command("status")(status_command)
app.command("outbox")(outbox_command)
app.command("dispatch")(dispatch_command)
app.command("impact")(impact_command)
app.command("monitor")(monitor_command)
app.command("evaluate")(evaluate_command)
app.command("report")(report_command)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOption = None) -> None:
    """Create or migrate the schema to the newest revision."""
    with open_engine(database_url, auto_migrate=False) as engine:
        revision = engine.upgrade_schema()
        console.print(f"schema at revision {revision} ({engine.settings.database_url})")


@db_app.command("current")
def db_current(database_url: DatabaseOption = None) -> None:
    """Show the schema revision of the database and the newest one known."""
    with open_engine(database_url, auto_migrate=False) as engine:
        current, head = engine.schema_revision()
        console.print(f"current: {current or 'empty database'}; newest: {head}")


@app.command("import")
def import_command(
    kind: Annotated[str, typer.Argument(help="record type: " + ", ".join(RECORD_TYPES))],
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON Lines file")],
    mapping: Annotated[
        str,
        typer.Option(
            "--mapping", "-m", help="mapping name (salesforce, hubspot, canonical) or YAML path"
        ),
    ] = "canonical",
    file_format: Annotated[
        FileFormat | None, typer.Option("--format", help="file format (default: from the name)")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="text encoding, e.g. cp1252")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detected)")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Import one file; bad rows go to quarantine, the rest land."""
    with open_engine(database_url) as engine, import_progress(f"{kind} ← {file.name}") as bar:
        summary = engine.import_file(
            kind,
            file,
            mapping=mapping,
            file_format=file_format,
            encoding=encoding,
            delimiter=delimiter,
            progress=bar,
        )
    print_summary(summary)


@app.command("import-folder")
def import_folder_command(
    folder: Annotated[Path, typer.Argument(help="folder with a manifest.yaml")],
    database_url: DatabaseOption = None,
) -> None:
    """Import every file listed in a folder's manifest.yaml, in order."""
    with open_engine(database_url) as engine, folder_progress() as bars:
        summaries = engine.import_folder(folder, progress=bars)
    for summary in summaries:
        print_summary(summary)


@app.command("imports")
def imports_command(
    limit: Annotated[int, typer.Option(help="how many runs to show")] = 20,
    database_url: DatabaseOption = None,
) -> None:
    """List the latest imports with their counts."""
    with open_engine(database_url) as engine:
        print_runs(engine.imports(limit))


@app.command("quarantine")
def quarantine_command(
    run: Annotated[int | None, typer.Option("--run", help="only this import run")] = None,
    limit: Annotated[int, typer.Option(help="how many entries to show")] = 50,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write every entry to this CSV file")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Show rejected values: file, row, field, value and reason."""
    with open_engine(database_url) as engine:
        entries = engine.quarantined(run_id=run, limit=None if output else limit)
    if output is not None:
        write_quarantine_csv(entries, output)
        console.print(f"{len(entries):,} quarantine entries written to {output}")
        return
    if not entries:
        console.print("quarantine is empty" + (f" for run {run}" if run else ""))
        return
    print_quarantine(entries)


@app.command("mappings")
def mappings_command() -> None:
    """List the built-in column mappings and the record types they cover."""
    for name, kinds in available_mappings(Settings().mapping_dirs).items():
        console.print(f"[bold]{name}[/]: {', '.join(kinds)}")
    console.print("[dim]canonical needs no file: columns named as the record fields[/]")


class ReportFormat(StrEnum):
    """Output formats of the readiness report."""

    TABLE = "table"
    MARKDOWN = "markdown"
    JSON = "json"
    HTML = "html"


def _as_of(value: str | None) -> date:
    if value is None:
        return system_clock().date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected a date like 2026-11-22, got {value!r}") from None


@app.command("foundation")
def foundation_command(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="report date, YYYY-MM-DD (default: today)")
    ] = None,
    report_format: Annotated[ReportFormat, typer.Option("--format", help="output format")] = (
        ReportFormat.TABLE
    ),
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write to a file")] = None,
    stale_days: Annotated[
        int, typer.Option(help="an account is stale after this many days without a signal")
    ] = 60,
    review_days: Annotated[
        int, typer.Option(help="a product entry is stale after this many days without review")
    ] = 365,
    rules: Annotated[
        Path | None,
        typer.Option(help="YAML of decision types and vocabularies (default: built in)"),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Print the foundation readiness report: is the data good enough to decide on?"""
    with open_engine(database_url) as engine:
        report = engine.readiness(
            as_of=_as_of(as_of),
            stale_after_days=stale_days,
            review_after_days=review_days,
            rules=rules,
        )
    _emit_report(report, report_format, output)


def _emit_report(report: ReadinessReport, report_format: ReportFormat, output: Path | None) -> None:
    if report_format is ReportFormat.TABLE and output is None:
        for renderable in render_rich(report):
            console.print(renderable)
        return
    renderers = {
        ReportFormat.TABLE: render_markdown,
        ReportFormat.MARKDOWN: render_markdown,
        ReportFormat.JSON: render_json,
        ReportFormat.HTML: render_html,
    }
    text = renderers[report_format](report)
    if output is None:
        console.out(text, highlight=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    console.print(f"readiness report written to {output}")


@app.command("duplicates")
def duplicates_command(
    limit: Annotated[int, typer.Option(help="how many pairs to show")] = 50,
    database_url: DatabaseOption = None,
) -> None:
    """List probable duplicate accounts with a confidence; nothing is merged."""
    with open_engine(database_url) as engine:
        pairs = engine.duplicates()
    print_duplicates(pairs, limit)


@sim_app.command("generate")
def sim_generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="folder to write")] = Path(
        "demo/company"
    ),
    accounts: Annotated[int, typer.Option(help="number of accounts")] = 10_000,
    seed: Annotated[
        int, typer.Option(help="random seed; the same seed gives the same company")
    ] = 7,
    file_format: Annotated[FileFormat, typer.Option("--format", help="file format")] = (
        FileFormat.CSV
    ),
) -> None:
    """Write a synthetic B2B company as import files with a manifest.yaml."""
    manifest, _company = _generate(out, accounts=accounts, seed=seed, file_format=file_format)
    console.print(
        f"wrote {manifest.parent} (import it with `nextmove import-folder {manifest.parent}`)"
    )


def _generate(
    out: Path, *, accounts: int, seed: int, file_format: FileFormat
) -> tuple[Path, SyntheticCompany]:
    from nextmove.sim import SimConfig, generate, write_company

    with console.status(f"generating {accounts:,} accounts"):
        company = generate(SimConfig(seed=seed, accounts=accounts))
        return write_company(company, out, fmt=file_format.value), company


@app.command("demo")
def demo_command(
    accounts: Annotated[int, typer.Option(help="number of accounts")] = 10_000,
    seed: Annotated[int, typer.Option(help="random seed")] = 7,
    workdir: Annotated[Path, typer.Option(help="where the generated files and report go")] = Path(
        "demo"
    ),
    playbook: Annotated[
        Path, typer.Option(help="playbook to check and apply against the company")
    ] = Path("examples/playbooks/b2b_saas.yaml"),
    days: Annotated[int, typer.Option(help="simulated days the agent loop runs")] = 60,
    database_url: DatabaseOption = None,
) -> None:
    """Generate a synthetic company, import it like a real one, report its readiness, apply
    the example playbook, then run the agent loop against it for simulated days."""
    manifest, company = _generate(
        workdir / "company", accounts=accounts, seed=seed, file_format=FileFormat.CSV
    )
    as_of = date.fromisoformat(str(yaml.safe_load(manifest.read_text(encoding="utf-8"))["as_of"]))
    with open_engine(database_url) as engine:
        console.rule(f"importing {manifest.parent} into {engine.settings.database_url}")
        with folder_progress() as bars:
            summaries = engine.import_folder(manifest.parent, progress=bars)
        for summary in summaries:
            print_summary(summary)
        report = engine.readiness(as_of=as_of)
        applied = _apply_demo_playbook(engine, playbook)
        active = engine.playbook() is not None
    console.rule(f"foundation readiness as of {as_of}")
    _emit_report(report, ReportFormat.TABLE, None)
    console.rule("playbook")
    console.print(applied)
    html = workdir / "readiness.html"
    html.write_text(render_html(report), encoding="utf-8")
    if active and days > 0:
        console.rule(f"the agent loop: {days} simulated days from {as_of}")
        run_simulated_days(company, days=days, database_url=database_url, seed=seed)
    console.print(
        f"\nFull report: {html}  ·  rejected rows: `nextmove quarantine`  ·  "
        "duplicates: `nextmove duplicates`  ·  decisions: `nextmove decisions`  ·  "
        "queues: `nextmove status`, `nextmove outbox`, `nextmove approvals list`"
    )


def _apply_demo_playbook(engine: Engine, playbook: Path) -> str:
    if not playbook.is_file():
        return f"no playbook at {playbook}; skipped (pass --playbook PATH)"
    applied = engine.apply_playbook(playbook, message="demo: example rules for the company")
    state = "applied as" if applied.created else "already active as"
    warnings = f", {len(applied.warnings)} warning(s)" if applied.warnings else ""
    return (
        f"{playbook} checked against the imported catalog{warnings}; {state} version "
        f"{applied.version.version} (`nextmove playbook history`, `nextmove audit list`)"
    )


def main() -> None:
    """Entry point of the ``nextmove`` script: run the app, turning errors into messages."""
    try:
        app()
    except ImportFailed as exc:
        raise SystemExit(_exit(str(exc), 2)) from None
    except NextmoveError as exc:
        raise SystemExit(_exit(str(exc), 1)) from None


def _exit(message: str, code: int) -> int:
    error_console.print(f"[bold red]error:[/] {message}")
    return code
