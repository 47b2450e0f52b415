"""Import use cases: read a file, validate it, land the good rows, quarantine the rest."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from nextmove.domain import Record
from nextmove.errors import ImportFailed, StoreError
from nextmove.foundation.checking import BatchChecker
from nextmove.foundation.identity import DuplicatePair, find_duplicate_accounts
from nextmove.foundation.mappings import load_mapping
from nextmove.foundation.model import ColumnMapping, FileFormat, ImportSummary
from nextmove.foundation.prefetch import prefetched
from nextmove.foundation.readers import Batch, SourceFile, open_source
from nextmove.foundation.readiness import (
    ReadinessInputs,
    ReadinessReport,
    ReadinessRules,
    assess_readiness,
)
from nextmove.foundation.repository import FoundationRepository
from nextmove.foundation.schema import RecordSchema, record_schema
from nextmove.foundation.validation import ROW, error_frame
from nextmove.store import PreparedBatch, UnitOfWork, WriteCounts, prepare_batch, reading

__all__ = [
    "Progress",
    "assess_foundation",
    "find_duplicates",
    "import_file",
    "import_records",
]

Progress = Callable[[int, int | None], None]
"""Called with (rows done, rows expected or None) as an import advances."""

_RECORD_PREVIEW = 2_000


@dataclass
class _Tally:
    rows_read: int = 0
    counts: WriteCounts = field(default_factory=WriteCounts)
    quarantine_entries: int = 0
    quarantined_rows: int = 0


def import_file(
    *,
    engine: Engine,
    kind: str,
    path: Path,
    mapping: str | ColumnMapping = "canonical",
    file_format: FileFormat | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    batch_rows: int = 200_000,
    mapping_dirs: Sequence[Path] = (),
    now: Callable[[], datetime],
    progress: Progress | None = None,
) -> ImportSummary:
    """Import one file of ``kind`` records and return what happened.

    Raises ImportFailed (after recording a failed run) when nothing could be read.
    """
    schema = record_schema(kind)
    chosen = (
        mapping if isinstance(mapping, ColumnMapping) else load_mapping(mapping, kind, mapping_dirs)
    )
    started = now()
    run_id = _start_run(engine, kind, path, file_format, chosen, started)
    with _run_failure_recorded(engine, run_id, path, now):
        source = open_source(
            path,
            file_format,
            batch_rows=batch_rows,
            encoding=encoding or chosen.encoding,
            delimiter=delimiter or chosen.delimiter,
            known_columns=frozenset(_wanted_columns(schema, chosen)),
        )
        columns = _resolve_columns(schema, chosen, source)
        notes = [*source.notes, *_column_notes(schema, chosen, source, columns)]
        return _land(engine, run_id, schema, chosen, source, columns, notes, started, now, progress)


@contextmanager
def _run_failure_recorded(
    engine: Engine, run_id: int, path: Path, now: Callable[[], datetime]
) -> Iterator[None]:
    """Mark the run failed (in its own transaction) whatever stops the import."""
    try:
        yield
    except ImportFailed as exc:
        _fail_run(engine, run_id, now(), str(exc))
        raise
    except (SQLAlchemyError, StoreError) as exc:
        _fail_run(engine, run_id, now(), f"database error: {exc}")
        raise StoreError(
            f"importing {path} failed in the database; nothing was changed: {exc}"
        ) from exc
    except Exception as exc:
        # Anything else is a defect; the run must still say it failed, not stay 'running'.
        _fail_run(engine, run_id, now(), f"unexpected error: {exc!r}")
        raise


def import_records(
    *, engine: Engine, records: Iterable[Record], now: Callable[[], datetime], label: str = "api"
) -> list[ImportSummary]:
    """Land already-validated records (from the Python API) through the same path as files."""
    by_kind: dict[str, list[dict[str, object]]] = {}
    for record in records:
        by_kind.setdefault(record.kind, []).append(record.model_dump(mode="json"))
    summaries = []
    for kind, rows in by_kind.items():
        schema = record_schema(kind)
        frame = pl.DataFrame(
            {name: [_as_cell(row[name]) for row in rows] for name in schema.field_names},
            schema={name: pl.String for name in schema.field_names},
        ).with_columns(pl.int_range(1, len(rows) + 1, dtype=pl.Int64).alias(ROW))
        mapping = ColumnMapping(kind=kind, name=label)
        source = SourceFile(
            path=Path(f"<{label}:{kind}>"),
            file_format=FileFormat.JSONL,
            columns=list(schema.field_names),
            total_rows=len(rows),
            _batches=iter([Batch(rows=frame, read_errors=error_frame([], None, [], ""))]),
        )
        started = now()
        run_id = _start_run(engine, kind, source.path, FileFormat.JSONL, mapping, started)
        columns = {name: name for name in schema.field_names}
        with _run_failure_recorded(engine, run_id, source.path, now):
            summaries.append(
                _land(engine, run_id, schema, mapping, source, columns, [], started, now, None)
            )
    return summaries


def _as_cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "|".join(str(item) for item in value)
    return str(value)


def _start_run(
    engine: Engine,
    kind: str,
    path: Path,
    file_format: FileFormat | None,
    mapping: ColumnMapping,
    started: datetime,
) -> int:
    fmt = file_format or FileFormat.from_path(path)
    with UnitOfWork(engine) as uow:
        run_id = FoundationRepository(uow.connection).start_run(
            kind=kind,
            file=str(path),
            file_format=str(fmt or "unknown"),
            mapping=mapping.name,
            started_at=started,
        )
        uow.commit()
    return run_id


def _fail_run(engine: Engine, run_id: int, finished: datetime, message: str) -> None:
    with UnitOfWork(engine) as uow:
        FoundationRepository(uow.connection).finish_run(
            run_id, status="failed", finished_at=finished, message=message
        )
        uow.commit()


def _wanted_columns(schema: RecordSchema, mapping: ColumnMapping) -> list[str]:
    return [mapping.columns.get(name, name) for name in schema.field_names]


def _resolve_columns(
    schema: RecordSchema, mapping: ColumnMapping, source: SourceFile
) -> dict[str, str]:
    """Return record field → source column for every field the file provides."""
    available = set(source.columns)
    resolved = {
        name: mapping.columns.get(name, name)
        for name in schema.field_names
        if mapping.columns.get(name, name) in available
    }
    missing = [
        name for name in schema.required if name not in resolved and name not in mapping.defaults
    ]
    if missing:
        expected = ", ".join(
            f"{name} (column {mapping.columns.get(name, name)!r})" for name in missing
        )
        found = ", ".join(repr(c) for c in source.columns[:12])
        hint = ""
        if len(source.columns) == 1 and any(d in source.columns[0] for d in ";\t|,"):
            hint = " — the header was read as one column: is the delimiter right? (--delimiter)"
        raise ImportFailed(
            f"{source.path}: missing required column(s) for {schema.kind}: {expected}; "
            f"the file has {found}{hint} (mapping: {mapping.name})"
        )
    return resolved


def _column_notes(
    schema: RecordSchema, mapping: ColumnMapping, source: SourceFile, resolved: dict[str, str]
) -> list[str]:
    notes = []
    absent = [
        f"{name} ← {column!r}" for name, column in mapping.columns.items() if name not in resolved
    ]
    if absent:
        notes.append("mapped columns not in the file (left empty): " + ", ".join(absent))
    ignored = sorted(set(source.columns) - set(resolved.values()))
    if ignored:
        notes.append("columns not imported: " + ", ".join(ignored))
    return notes


def _land(
    engine: Engine,
    run_id: int,
    schema: RecordSchema,
    mapping: ColumnMapping,
    source: SourceFile,
    columns: dict[str, str],
    notes: list[str],
    started: datetime,
    now: Callable[[], datetime],
    progress: Progress | None,
) -> ImportSummary:
    tally = _Tally()
    with UnitOfWork(engine) as uow:
        repository = FoundationRepository(uow.connection)
        checker = BatchChecker(
            schema, mapping, lambda kind: repository.keys(kind, record_schema(kind).key[0])
        )
        derived = {"segment"} if mapping.segment_by_employees and "employees" in columns else set()
        provided = tuple(
            name
            for name in schema.field_names
            if name in columns or name in mapping.defaults or name in derived
        )
        with repository.bulk_load(schema.kind, source.total_rows):
            _land_batches(
                repository, checker, run_id, schema, source, columns, provided, tally, progress
            )
        tally.counts = tally.counts + WriteCounts(duplicates=checker.silent_duplicates)
        if tally.rows_read == 0:
            raise ImportFailed(f"{source.path}: the file has a header but no rows")
        finished = now()
        repository.finish_run(
            run_id,
            status="finished",
            finished_at=finished,
            rows_read=tally.rows_read,
            inserted=tally.counts.inserted,
            updated=tally.counts.updated,
            unchanged=tally.counts.unchanged,
            duplicates=tally.counts.duplicates,
            quarantined=tally.quarantine_entries,
            message="; ".join(notes) or None,
        )
        uow.commit()
    return ImportSummary(
        run_id=run_id,
        kind=schema.kind,
        file=str(source.path),
        file_format=source.file_format,
        mapping=mapping.name,
        rows_read=tally.rows_read,
        inserted=tally.counts.inserted,
        updated=tally.counts.updated,
        unchanged=tally.counts.unchanged,
        duplicates=tally.counts.duplicates,
        quarantined_rows=tally.quarantined_rows,
        quarantine_entries=tally.quarantine_entries,
        notes=tuple(notes),
        started_at=started,
        finished_at=finished,
    )


@dataclass(frozen=True, slots=True, eq=False)
class _ReadyBatch:
    rows_read: int
    prepared: PreparedBatch
    errors: pl.DataFrame
    records: dict[int, str]


def _ready_batches(
    checker: BatchChecker, source: SourceFile, columns: dict[str, str], dialect: str
) -> Iterator[_ReadyBatch]:
    """Read, check and prepare each batch: pure work, run ahead on a worker thread."""
    for batch, good in checker.checked_batches(source.batches(), columns):
        errors = checker.take_errors()
        yield _ReadyBatch(
            rows_read=batch.rows.height + batch.read_errors[ROW].n_unique(),
            prepared=prepare_batch(dialect, good.drop(ROW), checker.key),
            errors=errors,
            records=_row_records(batch.rows, errors),
        )


def _land_batches(
    repository: FoundationRepository,
    checker: BatchChecker,
    run_id: int,
    schema: RecordSchema,
    source: SourceFile,
    columns: dict[str, str],
    provided: tuple[str, ...],
    tally: _Tally,
    progress: Progress | None,
) -> None:
    checker.preload()  # stored keys are read here: the connection stays on this thread
    ready = prefetched(_ready_batches(checker, source, columns, repository.dialect))
    for batch in ready:
        tally.rows_read += batch.rows_read
        counts = repository.write_records(
            schema.kind,
            batch.prepared,
            append_only=schema.append_only,
            update_columns=provided,
        )
        tally.counts = tally.counts + counts
        tally.quarantine_entries += repository.quarantine(
            run_id, schema.kind, str(source.path), batch.errors, batch.records
        )
        tally.quarantined_rows += batch.errors[ROW].n_unique()
        if progress:
            progress(tally.rows_read, source.total_rows)


def _row_records(rows: pl.DataFrame, errors: pl.DataFrame) -> dict[int, str]:
    """The source row of each rejected row, as JSON, for the quarantine table."""
    if errors.height == 0 or rows.height == 0:
        return {}
    bad = rows.filter(pl.col(ROW).is_in(errors[ROW].implode()))
    records = {}
    for row in bad.iter_rows(named=True):
        number = int(row.pop(ROW))
        text = json.dumps(row, ensure_ascii=False, default=str)
        records[number] = text if len(text) <= _RECORD_PREVIEW else text[:_RECORD_PREVIEW] + "…"
    return records


def assess_foundation(
    *,
    engine: Engine,
    as_of: date | datetime,
    stale_after_days: int = 60,
    review_after_days: int = 365,
    rules: ReadinessRules | None = None,
) -> ReadinessReport:
    """Return the readiness report of everything stored, as of ``as_of``."""
    with UnitOfWork(engine) as uow:
        repository = FoundationRepository(uow.connection)
        inputs = ReadinessInputs(
            accounts=repository.frame("accounts"),
            contacts=repository.frame("contacts"),
            products=repository.frame("products"),
            holdings=repository.frame("holdings"),
            opportunities=repository.frame("opportunities"),
            owners=repository.frame("owners"),
            teams=repository.frame("teams"),
            last_signals=repository.last_signal_at(),
            quarantine=repository.quarantine_frame(),
        )
    return assess_readiness(
        inputs,
        as_of=as_of,
        stale_after_days=stale_after_days,
        review_after_days=review_after_days,
        rules=rules,
    )


def find_duplicates(*, engine: Engine, limit: int | None = None) -> list[DuplicatePair]:
    """Return probable duplicate accounts, most confident first; nothing is merged."""
    with UnitOfWork(engine) as uow:
        accounts = FoundationRepository(uow.connection).frame(
            "accounts", ("account_id", "name", "domain", "country", "parent_account_id")
        )
    return find_duplicate_accounts(accounts, limit=limit)


def record_frames(
    *,
    engine: Engine | UnitOfWork,
    kinds: Sequence[str],
    account_ids: Sequence[str] | None = None,
) -> dict[str, pl.DataFrame]:
    """Return the stored records of each kind, all or only those of ``account_ids``.

    Read in one transaction (the caller's, given its unit of work), so the frames agree
    with each other.
    """
    with reading(engine) as connection:
        repository = FoundationRepository(connection)
        return {kind: repository.frame(kind, account_ids=account_ids) for kind in kinds}
