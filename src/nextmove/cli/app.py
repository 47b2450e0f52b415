"""``nextmove``: the command line door to the Engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from nextmove.cli.console import (
    console,
    error_console,
    folder_progress,
    import_progress,
    print_quarantine,
    print_runs,
    print_summary,
)
from nextmove.config import Settings
from nextmove.domain import RECORD_TYPES
from nextmove.engine import Engine
from nextmove.errors import ImportFailed, NextmoveError
from nextmove.foundation.mappings import available_mappings
from nextmove.foundation.model import FileFormat

__all__ = ["app", "main"]

app = typer.Typer(
    name="nextmove",
    help="The next move for every account, inside the rules people set.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        "-d",
        help="SQLAlchemy URL (default: NEXTMOVE_DATABASE_URL or sqlite:///nextmove.db)",
        show_default=False,
    ),
]


@contextmanager
def _engine(database_url: str | None) -> Iterator[Engine]:
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    with Engine.open(settings=settings) as engine:
        yield engine


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOption = None) -> None:
    """Create or migrate the schema to the newest revision."""
    settings = Settings(auto_migrate=False)
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    with Engine.open(settings=settings) as engine:
        revision = engine.upgrade_schema()
        console.print(f"schema at revision {revision} ({settings.database_url})")


@db_app.command("current")
def db_current(database_url: DatabaseOption = None) -> None:
    """Show the schema revision of the database and the newest one known."""
    settings = Settings(auto_migrate=False)
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    with Engine.open(settings=settings) as engine:
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
    with _engine(database_url) as engine, import_progress(f"{kind} ← {file.name}") as bar:
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
    with _engine(database_url) as engine, folder_progress() as bars:
        summaries = engine.import_folder(folder, progress=bars)
    for summary in summaries:
        print_summary(summary)


@app.command("imports")
def imports_command(
    limit: Annotated[int, typer.Option(help="how many runs to show")] = 20,
    database_url: DatabaseOption = None,
) -> None:
    """List the latest imports with their counts."""
    with _engine(database_url) as engine:
        print_runs(engine.imports(limit))


@app.command("quarantine")
def quarantine_command(
    run: Annotated[int | None, typer.Option("--run", help="only this import run")] = None,
    limit: Annotated[int, typer.Option(help="how many entries to show")] = 50,
    database_url: DatabaseOption = None,
) -> None:
    """Show rejected values: file, row, field, value and reason."""
    with _engine(database_url) as engine:
        entries = engine.quarantined(run_id=run, limit=limit)
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
