"""``nextmove playbook …``: check, apply, version, diff, roll back and test the playbook."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nextmove.cli.console import console, error_console
from nextmove.cli.session import DatabaseOption, open_engine
from nextmove.errors import NotFound, PlaybookInvalid
from nextmove.playbook import service
from nextmove.playbook.cases import cases_path, load_cases
from nextmove.playbook.model import PlaybookVersion, Problem
from nextmove.playbook.semantics import KnownCatalog
from nextmove.playbook.service import AppliedPlaybook

__all__ = ["app"]

app = typer.Typer(
    help="The playbook: the rules people own (check, apply, history, diff, rollback, test).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

FileArgument = Annotated[Path, typer.Argument(help="playbook YAML file", show_default=False)]
MessageOption = Annotated[
    str, typer.Option("--message", "-m", help="why the change is made (kept in the history)")
]
OfflineOption = Annotated[
    bool,
    typer.Option(
        "--offline", help="do not open the database: product and team ids are not checked"
    ),
]


def _say(text: str, *, err: bool = False) -> None:
    """Print plain text: no markup, no highlighting, no wrapping (CI and editors parse it)."""
    (error_console if err else console).print(text, markup=False, highlight=False, soft_wrap=True)


def _known(database_url: str | None, offline: bool) -> KnownCatalog:
    if offline:
        return KnownCatalog()
    with open_engine(database_url) as engine:
        return engine.playbook_catalog()


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        _say(f"{file}: cannot read: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None


def _print_problems(file: str, problems: Sequence[object]) -> int:
    """Print every problem as ``FILE:LINE:COL: path: message``; return the error count."""
    errors = 0
    for problem in problems:
        if isinstance(problem, Problem):
            _say(problem.render(file))
            errors += problem.severity == "error"
    return errors


@contextmanager
def _reported(file: str) -> Iterator[None]:
    """Turn PlaybookInvalid and NotFound into printed problems and exit status 1."""
    try:
        yield
    except PlaybookInvalid as exc:
        if not _print_problems(file, exc.problems):
            _say(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except NotFound as exc:
        _say(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command("check")
def check_command(
    file: FileArgument, offline: OfflineOption = False, database_url: DatabaseOption = None
) -> None:
    """Check a playbook: print every problem as FILE:LINE:COL: path: message; exit 1 on error."""
    text = _read(file)
    result = service.check_playbook(text=text, known=_known(database_url, offline))
    errors = _print_problems(str(file), result.problems)
    if errors:
        _say(f"{file}: {errors} error(s)", err=True)
        raise typer.Exit(1)
    warnings = len(result.problems)
    _say(f"{file}: ok" + (f" ({warnings} warning(s))" if warnings else ""))


@app.command("apply")
def apply_command(
    file: FileArgument,
    message: MessageOption,
    database_url: DatabaseOption = None,
) -> None:
    """Store the playbook as the new active version (nothing is stored if it has an error).

    The author is the configured identity (NEXTMOVE_USER), and the change is audited.
    """
    text = _read(file)
    with open_engine(database_url) as engine, _reported(str(file)):
        applied = engine.apply_playbook(text, message=message)
    _print_problems(str(file), applied.warnings)
    _print_applied(applied, "applied")


def _print_applied(applied: AppliedPlaybook, verb: str) -> None:
    version = applied.version
    if applied.created:
        _say(f"{verb}: version {version.version} ({version.content_hash[:12]}) is now active")
    else:
        _say(f"unchanged: version {version.version} already has this content and is active")


@app.command("history")
def history_command(
    limit: Annotated[int, typer.Option(help="how many versions to show")] = 20,
    database_url: DatabaseOption = None,
) -> None:
    """List stored versions, newest first."""
    with open_engine(database_url) as engine:
        versions = engine.playbook_history(limit)
    if not versions:
        _say("no playbook has been applied yet")
        return
    table = Table("version", "applied at (UTC)", "author", "hash", "message")
    for version in versions:
        note = f" (rollback to v{version.rollback_of})" if version.rollback_of else ""
        table.add_row(
            str(version.version),
            f"{version.created_at:%Y-%m-%d %H:%M}",
            version.author,
            version.content_hash[:12],
            version.message + note,
        )
    console.print(table)


@app.command("show")
def show_command(
    version: Annotated[int | None, typer.Argument(help="version (default: the active one)")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Print a stored version's YAML (details go to stderr, so stdout can be saved)."""
    with open_engine(database_url) as engine, _reported("playbook"):
        found: PlaybookVersion | None = engine.playbook(version)
    if found is None:
        _say("no playbook has been applied yet", err=True)
        raise typer.Exit(1)
    _say(
        f"# version {found.version} by {found.author} at {found.created_at:%Y-%m-%d %H:%M} UTC: "
        f"{found.message}",
        err=True,
    )
    console.out(found.content, end="" if found.content.endswith("\n") else "\n", highlight=False)


@app.command("diff")
def diff_command(
    a: Annotated[int, typer.Argument(help="older version")],
    b: Annotated[int, typer.Argument(help="newer version")],
    database_url: DatabaseOption = None,
) -> None:
    """Show what changed between two versions: per section, then line by line."""
    with open_engine(database_url) as engine, _reported("playbook"):
        difference = engine.playbook_diff(a, b)
    _say(f"changes from v{a} to v{b}:")
    _say(difference.summary())
    if difference.text:
        _say("")
        _say(difference.text.rstrip("\n"))


@app.command("rollback")
def rollback_command(
    version: Annotated[int, typer.Argument(help="the version to make active again")],
    message: MessageOption,
    database_url: DatabaseOption = None,
) -> None:
    """Make an earlier version active again (stored as a new version, audited)."""
    with open_engine(database_url) as engine, _reported(f"version {version}"):
        applied = engine.rollback_playbook(version, message=message)
    _print_applied(applied, f"rolled back to v{version}")


@app.command("test")
def test_command(
    file: FileArgument,
    cases: Annotated[
        Path | None, typer.Option(help="cases file (default: FILE's name with .cases.yaml)")
    ] = None,
    offline: OfflineOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Run the playbook's example cases; exit 1 when one fails."""
    chosen = cases or cases_path(file)
    text, cases_text = _read(file), _read(chosen)
    known = _known(database_url, offline)
    with _reported(str(chosen)):
        load_cases(cases_text)  # a malformed cases file is reported against its own name
    with _reported(str(file)):
        report = service.run_playbook_cases(text=text, cases_text=cases_text, known=known)
    for result in report.results:
        status = "PASS" if result.passed else "FAIL"
        where = f"{chosen}:{result.line}: " if result.line is not None else ""
        _say(f"{status} {where}{result.name} [{result.action}] — {result.reason}")
    _say(f"{report.passed} passed, {report.failed} failed")
    if report.failed:
        raise typer.Exit(1)
