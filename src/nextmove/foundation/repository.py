"""Every query of the foundation part: records in bulk, import runs, quarantine."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

import polars as pl
from sqlalchemy import (
    JSON,
    Connection,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    type_coerce,
    update,
)

from nextmove.foundation.model import ImportSummary, QuarantineEntry
from nextmove.store import PreparedBatch, WriteCounts, write_batch
from nextmove.store import tables as t
from nextmove.store.bulk import deferred_indexes
from nextmove.store.types import UtcDateTime

__all__ = ["FoundationRepository", "frame_of_rows"]

_VALUE_LIMIT = 500
_BULK_ROWS = 500_000
_FEW_ROWS = 100
"""Up to this many rows, a frame is built row by row (less overhead); beyond, column by
column (faster per row)."""
_UTC = pl.Datetime("us", "UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_RECORD_TABLES: dict[str, Table] = {
    "teams": t.teams,
    "owners": t.owners,
    "accounts": t.accounts,
    "contacts": t.contacts,
    "products": t.products,
    "holdings": t.holdings,
    "opportunities": t.opportunities,
    "signals": t.signals,
    "outcomes": t.outcomes,
}


class FoundationRepository:
    """Reads and writes of records, import runs and quarantine on one connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def keys(self, kind: str, column: str) -> pl.Series:
        """Return every stored value of ``column`` of ``kind`` (for reference checks)."""
        table = _RECORD_TABLES[kind]
        values = self._connection.execute(select(table.c[column])).scalars().all()
        return pl.Series(column, values, dtype=pl.String)

    def write_records(
        self,
        kind: str,
        batch: PreparedBatch,
        *,
        append_only: bool,
        update_columns: Sequence[str],
    ) -> WriteCounts:
        """Upsert (or, for events, insert-if-new) a prepared batch of ``kind`` records.

        New records take every column; stored ones change only in ``update_columns``.
        """
        table = _RECORD_TABLES[kind]
        counts = write_batch(
            self._connection,
            table,
            batch,
            append_only=append_only,
            update_columns=update_columns,
        )
        if kind == "products":
            self._replace_relations(batch.frame)
        return counts

    @property
    def dialect(self) -> str:
        """The database's dialect name (``sqlite`` or ``postgresql``)."""
        return self._connection.dialect.name

    @contextmanager
    def bulk_load(self, kind: str, expected_rows: int | None) -> Iterator[None]:
        """Defer ``kind``'s secondary indexes while loading many rows into SQLite."""
        table = _RECORD_TABLES[kind]
        large = (expected_rows or 0) >= max(_BULK_ROWS, self.count(kind))
        if (
            large
            and self._connection.dialect.name == "sqlite"
            and any(not index.unique for index in table.indexes)
        ):
            with deferred_indexes(self._connection, table):
                yield
        else:
            yield

    def _replace_relations(self, frame: pl.DataFrame) -> None:
        relations = t.product_relations
        ids = frame["product_id"].to_list()
        self._connection.execute(delete(relations).where(relations.c.product_id.in_(ids)))
        rows = [
            {"product_id": product_id, "related_id": related_id, "relation": relation}
            for relation, column in (("prerequisite", "prerequisites"), ("related", "related"))
            if column in frame.columns
            for product_id, related in frame.select("product_id", column).iter_rows()
            for related_id in dict.fromkeys(related or [])
        ]
        if rows:
            self._connection.execute(insert(relations), rows)

    def frame(
        self,
        kind: str,
        columns: Sequence[str] | None = None,
        *,
        account_ids: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """Return stored records of ``kind`` as a polars frame (all rows, or those of
        ``account_ids`` for a kind that belongs to accounts)."""
        scope: _Scope = "all"
        ids: dict[str, Any] = {}
        if account_ids is not None and "account_id" in _RECORD_TABLES[kind].c:
            if len(account_ids) == 1:
                scope, ids = "one", {"account_id": account_ids[0]}
            else:
                scope, ids = "many", {"account_ids": list(account_ids)}
        query, schema = _records_query(kind, tuple(columns or ()), scope)
        return frame_of_rows(self._connection.execute(query, ids).all(), schema)

    def last_signal_at(self) -> pl.DataFrame:
        """Return each account's latest signal time (``account_id``, ``last_signal_at``)."""
        signals = t.signals
        latest = type_coerce(func.max(signals.c.occurred_at), UtcDateTime)
        query = select(signals.c.account_id, latest).group_by(signals.c.account_id)
        rows = self._connection.execute(query).all()
        return pl.DataFrame(
            {
                "account_id": [row[0] for row in rows],
                "last_signal_at": [row[1] for row in rows],
            },
            schema={"account_id": pl.String, "last_signal_at": pl.Datetime("us", "UTC")},
        )

    def count(self, kind: str) -> int:
        """Return how many records of ``kind`` are stored."""
        table = _RECORD_TABLES[kind]
        return int(self._connection.execute(select(func.count()).select_from(table)).scalar_one())

    def start_run(
        self, *, kind: str, file: str, file_format: str, mapping: str, started_at: datetime
    ) -> int:
        """Record the start of an import and return its run id."""
        result = self._connection.execute(
            insert(t.import_runs).values(
                kind=kind,
                file=file,
                file_format=file_format,
                mapping=mapping,
                started_at=started_at,
                status="running",
                rows_read=0,
                inserted=0,
                updated=0,
                unchanged=0,
                duplicates=0,
                quarantined=0,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def finish_run(self, run_id: int, *, status: str, finished_at: datetime, **counts: Any) -> None:
        """Record how an import ended."""
        self._connection.execute(
            update(t.import_runs)
            .where(t.import_runs.c.run_id == run_id)
            .values(status=status, finished_at=finished_at, **counts)
        )

    def quarantine(
        self, run_id: int, kind: str, file: str, errors: pl.DataFrame, records: dict[int, str]
    ) -> int:
        """Store one quarantine entry per rejected value; return how many were stored."""
        if errors.height == 0:
            return 0
        rows = [
            {
                "run_id": run_id,
                "kind": kind,
                "file": file,
                "row_number": row,
                "field": field,
                "value": _clip(value),
                "reason": reason,
                "record": records.get(row) if row is not None else None,
            }
            for row, field, value, reason in errors.iter_rows()
        ]
        self._connection.execute(insert(t.quarantine), rows)
        return len(rows)

    def runs(self, limit: int = 20) -> list[ImportSummary]:
        """Return the latest import runs, newest first."""
        runs = t.import_runs
        query = select(runs).order_by(runs.c.run_id.desc()).limit(limit)
        summaries = []
        for row in self._connection.execute(query).mappings():
            quarantined_rows = self._connection.execute(
                select(func.count(func.distinct(t.quarantine.c.row_number))).where(
                    t.quarantine.c.run_id == row["run_id"]
                )
            ).scalar_one()
            summaries.append(
                ImportSummary(
                    run_id=row["run_id"],
                    kind=row["kind"],
                    file=row["file"],
                    file_format=row["file_format"],
                    mapping=row["mapping"],
                    rows_read=row["rows_read"],
                    inserted=row["inserted"],
                    updated=row["updated"],
                    unchanged=row["unchanged"],
                    duplicates=row["duplicates"],
                    quarantined_rows=int(quarantined_rows),
                    quarantine_entries=row["quarantined"],
                    notes=(row["message"],) if row["message"] else (),
                    started_at=row["started_at"],
                    finished_at=row["finished_at"] or row["started_at"],
                    status=row["status"],
                )
            )
        return summaries

    def quarantined(
        self, *, run_id: int | None = None, limit: int | None = 100
    ) -> list[QuarantineEntry]:
        """Return quarantine entries (newest run first, then in file order); all when no limit."""
        q = t.quarantine
        query = select(q).order_by(q.c.run_id.desc(), q.c.row_number, q.c.entry_id).limit(limit)
        if run_id is not None:
            query = query.where(q.c.run_id == run_id)
        return [
            QuarantineEntry(
                run_id=row["run_id"],
                kind=row["kind"],
                file=row["file"],
                row_number=row["row_number"],
                field=row["field"],
                value=row["value"],
                reason=row["reason"],
                record=row["record"],
            )
            for row in self._connection.execute(query).mappings()
        ]

    def quarantine_frame(self) -> pl.DataFrame:
        """Return every quarantine entry with its run's kind (for the readiness report)."""
        q = t.quarantine
        return self.frame_of(
            select(q.c.run_id, q.c.kind, q.c.file, q.c.row_number, q.c.field, q.c.value, q.c.reason)
        )

    def frame_of(self, query: Any) -> pl.DataFrame:
        """Run a select and return it as a polars frame."""
        result = self._connection.execute(query)
        names = list(result.keys())
        return pl.DataFrame(
            [tuple(r) for r in result], schema=names, orient="row", infer_schema_length=None
        )


_Scope = Literal["all", "one", "many"]
"""Which records a query reads: all, or those of the one ``account_id`` or of the many
``account_ids`` bound at execution."""


@lru_cache(maxsize=64)
def _records_query(
    kind: str, columns: tuple[str, ...], scope: _Scope
) -> tuple[Select[Any], dict[str, pl.DataType]]:
    """The query of ``kind``'s records (``columns``, or all) in ``scope``, and the polars
    types it reads into. Built once: deciding one account reads seven kinds a call, and
    building a query costs more than running it (and an equality less than a list).
    """
    table = _RECORD_TABLES[kind]
    chosen = [table.c[c] for c in columns] if columns else list(table.c)
    query = select(*chosen)
    if scope == "one":
        query = query.where(table.c.account_id == bindparam("account_id"))
    elif scope == "many":
        query = query.where(table.c.account_id.in_(bindparam("account_ids", expanding=True)))
    return query, {column.name: _polars_type(column.type) for column in chosen}


def frame_of_rows(rows: Sequence[Sequence[Any]], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Rows of a query as a polars frame of ``schema`` (its columns in the rows' order)."""
    key = tuple(schema.items())
    if not rows:  # often, for one account's records: a copy of a cached empty frame
        return _empty_frame(key).clear()
    if len(rows) <= _FEW_ROWS:  # one account's records: row by row costs a fraction
        last = _LAST_FEW.get(key)
        if last is not None and last[0] == rows:  # the catalog, read on every decision
            return last[1].clone()
        names = list(schema)  # rows as dicts: polars then skips a pass over the types
        frame = pl.DataFrame([dict(zip(names, row, strict=True)) for row in rows], schema=schema)
        _LAST_FEW[key] = (rows, frame)
        return frame
    return pl.DataFrame(
        [
            _series(name, [row[i] for row in rows], dtype)
            for i, (name, dtype) in enumerate(schema.items())
        ]
    )


_Schema = tuple[tuple[str, pl.DataType], ...]
_LAST_FEW: dict[_Schema, tuple[Sequence[Sequence[Any]], pl.DataFrame]] = {}
"""The last few rows made into a frame of each schema, and that frame: the same rows again
(products, owners) make the same frame, for a copy of it."""


@lru_cache(maxsize=256)
def _empty_frame(schema: _Schema) -> pl.DataFrame:
    return pl.DataFrame(schema=dict(schema))


def _series(name: str, values: Sequence[Any], dtype: pl.DataType) -> pl.Series:
    """One column of a query's rows as a series of ``dtype``."""
    if dtype == _UTC:
        # polars converts aware datetimes one at a time, slowly: hand it whole microseconds
        # since the epoch instead (the same instants).
        try:
            micros = [
                None if value is None else (value - _EPOCH) // _MICROSECOND for value in values
            ]
        except TypeError:  # a naive datetime: let polars say what it makes of it
            return pl.Series(name, values, dtype=dtype)
        return pl.Series(name, micros, dtype=pl.Int64).cast(dtype)
    try:
        return pl.Series(name, values, dtype=dtype)
    except TypeError:  # a value of another type (SQLite's columns take any): convert it
        return pl.Series(name, values, dtype=dtype, strict=False)


def _polars_type(column_type: Any) -> pl.DataType:
    """The polars type a stored column reads into."""
    if isinstance(column_type, UtcDateTime):
        return pl.Datetime("us", "UTC")
    if isinstance(column_type, JSON):
        return pl.List(pl.String)
    python_type: Any
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        python_type = object
    if python_type is bool:
        return pl.Boolean()
    if python_type is int:
        return pl.Int64()
    if python_type is float:
        return pl.Float64()
    if python_type is date:
        return pl.Date()
    return pl.String()


def _clip(value: str | None) -> str | None:
    """Shorten a rejected value for storage; NUL (which PostgreSQL text refuses) shows as \\0."""
    if value is None:
        return None
    value = value.replace("\x00", "\\0")
    if len(value) <= _VALUE_LIMIT:
        return value
    return f"{value[:_VALUE_LIMIT]}… ({len(value):,} characters)"
