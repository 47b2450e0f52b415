"""A watched folder: files dropped in it are imported by the loop, then moved aside.

A file's record type is the start of its name: ``signals-2026-11-02.csv`` holds signals,
``outcomes.parquet`` outcomes (canonical columns; CSV, Parquet or JSON Lines). Files are
taken oldest first. An imported file moves to ``done/``; one that could not be read at
all moves to ``failed/`` beside a ``.error`` note, so it is never retried in a loop.
A file still being written should be written elsewhere and moved in (a rename is atomic).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nextmove.domain import RECORD_TYPES
from nextmove.errors import NextmoveError
from nextmove.foundation.model import ImportSummary

__all__ = ["InboxResult", "inbox_files", "kind_of", "take_inbox"]

_SUFFIXES = (".csv", ".parquet", ".jsonl", ".ndjson", ".json")
Importer = Callable[[str, Path], ImportSummary]


@dataclass(frozen=True, slots=True)
class InboxResult:
    """What one look at the inbox imported."""

    files: int
    rows: int
    kinds: frozenset[str]
    failed: tuple[str, ...]


def kind_of(path: Path) -> str | None:
    """Return the record type a file's name announces, or None."""
    stem = path.name.split(".", 1)[0].lower()
    for kind in sorted(RECORD_TYPES, key=len, reverse=True):
        if stem == kind or stem.startswith((f"{kind}-", f"{kind}_")):
            return kind
    return None


def inbox_files(folder: Path) -> list[Path]:
    """Return the importable files waiting in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    found = [
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in _SUFFIXES and kind_of(path) is not None
    ]
    return sorted(found, key=lambda path: (path.stat().st_mtime, path.name))


def take_inbox(folder: Path, importer: Importer) -> InboxResult:
    """Import every waiting file with ``importer(kind, path)``; move each aside."""
    files = rows = 0
    kinds: set[str] = set()
    failed: list[str] = []
    for path in inbox_files(folder):
        kind = kind_of(path)
        assert kind is not None
        try:
            summary = importer(kind, path)
        except NextmoveError as exc:
            failed.append(path.name)
            _move(path, folder / "failed").with_suffix(path.suffix + ".error").write_text(
                f"{exc}\n", encoding="utf-8"
            )
            continue
        _move(path, folder / "done")
        files += 1
        rows += summary.inserted + summary.updated
        kinds.add(kind)
    return InboxResult(files, rows, frozenset(kinds), tuple(failed))


def _move(path: Path, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    target = into / path.name
    number = 1
    while target.exists():
        target = into / f"{path.stem}.{number}{path.suffix}"
        number += 1
    path.replace(target)
    return target
