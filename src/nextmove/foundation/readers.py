"""Read CSV, Parquet and JSON Lines files into batches of rows, numbered as in the file.

A reader never stops at a bad row: rows it cannot make sense of (ragged CSV rows, lines
that are not JSON, bytes that are not valid text) are reported as read errors with their
row number, and reading goes on. Only a file that cannot be opened at all raises.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from nextmove.errors import ImportFailed
from nextmove.foundation.model import FileFormat
from nextmove.foundation.validation import ROW, error_frame

__all__ = ["Batch", "SourceFile", "open_source"]

_DELIMITERS = (",", ";", "\t", "|")
_BAD_BYTES = re.compile(r"[\udc80-\udcff]")
_FIELD_SIZE_LIMIT = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Batch:
    """Rows read from a file (all columns, ``__row`` numbered) and rows that could not be."""

    rows: pl.DataFrame
    read_errors: pl.DataFrame


@dataclass
class SourceFile:
    """An opened input file: its columns, an estimate of its size, and its batches."""

    path: Path
    file_format: FileFormat
    columns: list[str]
    total_rows: int | None
    notes: list[str] = field(default_factory=list)
    _batches: Iterator[Batch] | None = None

    def batches(self) -> Iterator[Batch]:
        """Yield the file's rows in batches; read once."""
        if self._batches is None:
            raise ImportFailed(f"{self.path} was already read")
        batches, self._batches = self._batches, None
        return batches


def open_source(
    path: Path,
    file_format: FileFormat | None,
    *,
    batch_rows: int,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    known_columns: frozenset[str] = frozenset(),
) -> SourceFile:
    """Open ``path`` for reading; raise ImportFailed when nothing can be read from it.

    ``known_columns`` are the source columns the mapping looks for; they decide which
    delimiter a CSV file uses when none is given.
    """
    if not path.exists():
        raise ImportFailed(f"{path}: no such file")
    if path.is_dir():
        raise ImportFailed(f"{path} is a folder, not a file")
    resolved = file_format or FileFormat.from_path(path)
    if resolved is None:
        raise ImportFailed(
            f"{path}: cannot tell the format from the file name; pass --format csv|parquet|jsonl"
        )
    if path.stat().st_size == 0:
        raise ImportFailed(f"{path} is empty (0 bytes): there is nothing to import")
    match resolved:
        case FileFormat.CSV:
            return _open_csv(path, batch_rows, encoding, delimiter, known_columns)
        case FileFormat.PARQUET:
            return _open_parquet(path, batch_rows)
        case FileFormat.JSONL:
            return _open_jsonl(path, batch_rows, encoding)


def _text_encoding(encoding: str) -> str:
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


def _open_csv(
    path: Path, batch_rows: int, encoding: str, delimiter: str | None, known: frozenset[str]
) -> SourceFile:
    csv.field_size_limit(_FIELD_SIZE_LIMIT)
    try:
        with path.open(
            encoding=_text_encoding(encoding), errors="surrogateescape", newline=""
        ) as f:
            header_line = f.readline()
    except LookupError as exc:
        raise ImportFailed(f"unknown text encoding {encoding!r}") from exc
    if not header_line.strip():
        raise ImportFailed(f"{path}: the first line is empty; expected a header row")
    notes: list[str] = []
    chosen = delimiter or _sniff_delimiter(header_line, known)
    if delimiter is None and chosen != ",":
        notes.append(f"read as {_delimiter_name(chosen)}-delimited (detected from the header)")
    header = next(csv.reader([header_line], delimiter=chosen))
    header = [name.strip() for name in header]
    if _BAD_BYTES.search(header_line):
        raise ImportFailed(
            f"{path}: the header row is not valid {encoding} text; "
            "pass --encoding (for example cp1252 or latin-1)"
        )
    size = path.stat().st_size
    estimate = max(1, size // max(1, len(header_line.encode("utf-8", "surrogateescape"))))
    return SourceFile(
        path=path,
        file_format=FileFormat.CSV,
        columns=header,
        total_rows=estimate,
        notes=notes,
        _batches=_csv_batches(path, encoding, chosen, header, batch_rows),
    )


def _sniff_delimiter(header_line: str, known: frozenset[str]) -> str:
    """Pick the delimiter that splits the header into the most known (else most) columns."""

    def score(candidate: str) -> tuple[int, int]:
        names = {name.strip() for name in next(csv.reader([header_line], delimiter=candidate))}
        return len(names & known), len(names)

    return max(_DELIMITERS, key=score)


def _delimiter_name(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(
        delimiter, repr(delimiter)
    )


def _csv_batches(
    path: Path, encoding: str, delimiter: str, header: list[str], batch_rows: int
) -> Iterator[Batch]:
    width = len(header)
    with path.open(encoding=_text_encoding(encoding), errors="surrogateescape", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, strict=False)
        next(reader, None)
        rows: list[list[str]] = []
        numbers: list[int] = []
        bad: list[pl.DataFrame] = []
        record = 1
        for values in reader:
            record += 1
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            if len(values) != width:
                bad.append(
                    error_frame(
                        [record],
                        None,
                        [_preview(delimiter.join(values))],
                        f"row has {len(values)} fields; the header has {width}",
                    )
                )
                continue
            joined = "".join(values)
            if _BAD_BYTES.search(joined):
                bad.append(_bad_bytes_error(record, header, values, encoding))
                continue
            rows.append(values)
            numbers.append(record)
            if len(rows) >= batch_rows:
                yield _csv_batch(header, rows, numbers, bad)
                rows, numbers, bad = [], [], []
        if rows or bad:
            yield _csv_batch(header, rows, numbers, bad)


def _csv_batch(
    header: list[str], rows: list[list[str]], numbers: list[int], bad: list[pl.DataFrame]
) -> Batch:
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    frame = pl.DataFrame(columns, schema={name: pl.String for name in header})
    frame = frame.with_columns(
        pl.Series(ROW, numbers, dtype=pl.Int64),
        *[
            pl.when(pl.col(name) == "").then(None).otherwise(pl.col(name)).alias(name)
            for name in header
        ],
    )
    return Batch(rows=frame, read_errors=_concat_errors(bad))


def _bad_bytes_error(
    record: int, header: list[str], values: list[Any], encoding: str
) -> pl.DataFrame:
    column = next(
        (
            name
            for name, value in zip(header, values, strict=False)
            if isinstance(value, str) and _BAD_BYTES.search(value)
        ),
        None,
    )
    shown = next((v for v in values if isinstance(v, str) and _BAD_BYTES.search(v)), "")
    return error_frame(
        [record],
        column,
        [_preview(shown.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))],
        f"contains bytes that are not valid {encoding} text; if the whole file uses another "
        "encoding, re-import with --encoding (for example cp1252)",
    )


def _preview(value: str, limit: int = 200) -> str:
    return value if len(value) <= limit else f"{value[:limit]}… ({len(value):,} characters)"


def _concat_errors(frames: list[pl.DataFrame]) -> pl.DataFrame:
    if not frames:
        return error_frame([], None, [], "")
    return pl.concat(frames)


def _open_parquet(path: Path, batch_rows: int) -> SourceFile:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise ImportFailed(
            f"{path} is not a readable Parquet file (truncated or not Parquet?): {exc}"
        ) from exc
    return SourceFile(
        path=path,
        file_format=FileFormat.PARQUET,
        columns=list(parquet.schema_arrow.names),
        total_rows=parquet.metadata.num_rows,
        _batches=_parquet_batches(parquet, batch_rows),
    )


def _parquet_batches(parquet: pq.ParquetFile, batch_rows: int) -> Iterator[Batch]:
    first = 1
    batches = parquet.iter_batches(batch_size=batch_rows)
    while True:
        try:
            record_batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            remaining = parquet.metadata.num_rows - first + 1
            yield Batch(
                rows=pl.DataFrame(),
                read_errors=error_frame(
                    [first],
                    None,
                    [None],
                    f"the file is damaged from this row on ({remaining:,} rows unreadable): {exc}",
                ),
            )
            return
        frame = pl.from_arrow(record_batch)
        assert isinstance(frame, pl.DataFrame)
        frame = frame.with_columns(
            pl.int_range(first, first + frame.height, dtype=pl.Int64).alias(ROW)
        )
        first += frame.height
        yield Batch(rows=frame, read_errors=_concat_errors([]))


def _open_jsonl(path: Path, batch_rows: int, encoding: str) -> SourceFile:
    # Keys may first appear on any line, so the columns are gathered in a first pass.
    columns: dict[str, None] = {}
    with path.open(encoding=_text_encoding(encoding), errors="surrogateescape") as f:
        for line in f:
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                columns.update(dict.fromkeys(str(key) for key in value))
    return SourceFile(
        path=path,
        file_format=FileFormat.JSONL,
        columns=list(columns),
        total_rows=None,
        _batches=_jsonl_batches(path, batch_rows, encoding, list(columns)),
    )


def _jsonl_batches(
    path: Path, batch_rows: int, encoding: str, columns: list[str]
) -> Iterator[Batch]:
    rows: list[dict[str, str | None]] = []
    numbers: list[int] = []
    bad: list[pl.DataFrame] = []
    with path.open(encoding=_text_encoding(encoding), errors="surrogateescape") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            if _BAD_BYTES.search(line):
                bad.append(
                    error_frame(
                        [number],
                        None,
                        [
                            _preview(
                                line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                            )
                        ],
                        f"contains bytes that are not valid {encoding} text; use --encoding",
                    )
                )
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                bad.append(
                    error_frame(
                        [number],
                        None,
                        [_preview(line.strip())],
                        f"not valid JSON: {exc.msg} at column {exc.colno}",
                    )
                )
                continue
            if not isinstance(value, dict):
                bad.append(
                    error_frame(
                        [number], None, [_preview(line.strip())], "expected a JSON object per line"
                    )
                )
                continue
            rows.append({str(key): _json_text(item) for key, item in value.items()})
            numbers.append(number)
            if len(rows) >= batch_rows:
                yield _jsonl_batch(columns, rows, numbers, bad)
                rows, numbers, bad = [], [], []
    if rows or bad:
        yield _jsonl_batch(columns, rows, numbers, bad)


def _json_text(value: Any) -> str | None:
    """JSON values as the text a CSV cell would hold; lists joined with ``|``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(str(item) for item in value if item is not None)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _jsonl_batch(
    columns: list[str],
    rows: list[dict[str, str | None]],
    numbers: list[int],
    bad: list[pl.DataFrame],
) -> Batch:
    frame = pl.DataFrame(
        {name: [row.get(name) for row in rows] for name in columns},
        schema={name: pl.String for name in columns},
    ).with_columns(pl.Series(ROW, numbers, dtype=pl.Int64))
    return Batch(rows=frame, read_errors=_concat_errors(bad))
