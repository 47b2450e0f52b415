"""Terminal output shared by the commands: summaries, tables, progress bars."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from nextmove.foundation.identity import DuplicatePair
from nextmove.foundation.model import ImportSummary, QuarantineEntry
from nextmove.foundation.service import Progress as ProgressCallback

__all__ = [
    "console",
    "error_console",
    "folder_progress",
    "import_progress",
    "print_duplicates",
    "print_runs",
    "print_quarantine",
    "print_summary",
    "write_quarantine_csv",
]

console = Console()
error_console = Console(stderr=True)


def _bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=error_console,
        transient=True,
    )


def _callback(bar: Progress, label: str) -> ProgressCallback:
    task = bar.add_task(label, total=None)

    def advance(done: int, total: int | None) -> None:
        bar.update(task, completed=done, total=max(total, done) if total else None)

    return advance


@contextmanager
def import_progress(label: str) -> Iterator[ProgressCallback]:
    """Yield a progress callback drawing a Rich bar for a long file."""
    with _bar() as bar:
        yield _callback(bar, label)


@contextmanager
def folder_progress() -> Iterator[Callable[[str], ProgressCallback]]:
    """Yield a factory of progress callbacks, one bar per file of a folder import."""
    with _bar() as bar:
        yield lambda label: _callback(bar, label)


def print_summary(summary: ImportSummary) -> None:
    """Print what one import did, and where to look when rows were rejected."""
    seconds = max((summary.finished_at - summary.started_at).total_seconds(), 1e-9)
    console.print(
        f"[bold]{summary.kind}[/] from {summary.file} ({summary.file_format}, mapping "
        f"{summary.mapping}): {summary.rows_read:,} rows read in {seconds:.1f}s"
    )
    console.print(
        f"  imported {summary.imported:,}: {summary.inserted:,} new, {summary.updated:,} "
        f"changed, {summary.unchanged:,} unchanged"
        + (f"; {summary.duplicates:,} duplicates skipped" if summary.duplicates else "")
    )
    if summary.quarantined_rows:
        console.print(
            f"  [yellow]quarantined {summary.quarantined_rows:,} rows[/] "
            f"({summary.quarantine_entries:,} problems): see "
            f"`nextmove quarantine --run {summary.run_id}`"
        )
    for note in summary.notes:
        console.print(f"  [dim]note: {note}[/]")


def print_quarantine(entries: list[QuarantineEntry]) -> None:
    """Print quarantine entries as a table."""
    table = Table(title="Quarantined values", show_lines=False)
    for column in ("run", "file", "row", "field", "value", "reason"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            str(entry.run_id),
            Path(entry.file).name,
            "" if entry.row_number is None else str(entry.row_number),
            entry.field or "",
            "" if entry.value is None else entry.value[:80],
            entry.reason,
        )
    console.print(table)


def print_runs(summaries: list[ImportSummary]) -> None:
    """Print import runs as a table."""
    table = Table(title="Imports")
    for column in (
        "run",
        "kind",
        "file",
        "status",
        "read",
        "new",
        "changed",
        "unchanged",
        "dup",
        "quarantined",
    ):
        table.add_column(
            column, justify="right" if column not in ("kind", "file", "status") else "left"
        )
    for s in summaries:
        table.add_row(
            str(s.run_id),
            s.kind,
            Path(s.file).name,
            s.status,
            f"{s.rows_read:,}",
            f"{s.inserted:,}",
            f"{s.updated:,}",
            f"{s.unchanged:,}",
            f"{s.duplicates:,}",
            f"{s.quarantined_rows:,}",
        )
    console.print(table)


def print_duplicates(pairs: list[DuplicatePair], limit: int) -> None:
    """Print probable duplicate account pairs, most confident first."""
    if not pairs:
        console.print("no probable duplicate accounts")
        return
    table = Table(title=f"Probable duplicate accounts ({len(pairs):,} pairs; nothing merged)")
    for column in ("confidence", "account a", "account b", "why"):
        table.add_column(column, overflow="fold")
    for pair in pairs[:limit]:
        table.add_row(
            f"{pair.confidence:.2f}",
            f"{pair.name_a} ({pair.account_id_a})",
            f"{pair.name_b} ({pair.account_id_b})",
            "; ".join(pair.reasons),
        )
    console.print(table)


def write_quarantine_csv(entries: list[QuarantineEntry], path: Path) -> None:
    """Write quarantine entries to a CSV file someone can fix the source rows from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["run", "kind", "file", "row", "field", "value", "reason", "record"])
        for e in entries:
            writer.writerow(
                [e.run_id, e.kind, e.file, e.row_number, e.field, e.value, e.reason, e.record]
            )
