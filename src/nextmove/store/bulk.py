"""Bulk writes of validated columnar batches: upserts and append-only inserts.

SQLite takes ``executemany`` of plain tuples; PostgreSQL takes ``COPY`` into a staging
table followed by one ``INSERT … SELECT … ON CONFLICT``. Both report how many rows were
new, changed, unchanged, or already known.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Table

__all__ = [
    "PreparedBatch",
    "WriteCounts",
    "deferred_indexes",
    "prepare_batch",
    "write_batch",
]

_CHUNK = 5_000
_FEW_ROWS = 64
"""Up to this many rows, a batch is turned into row tuples in plain Python."""
_SHAPES = 64
_SQLITE_INSERTS: dict[tuple[Any, ...], str] = {}
"""SQLite inserts made, by batch shape (at most ``_SHAPES``)."""


@dataclass(frozen=True, slots=True)
class WriteCounts:
    """How a batch landed."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0

    def __add__(self, other: WriteCounts) -> WriteCounts:
        return WriteCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.duplicates + other.duplicates,
        )


@dataclass(frozen=True, slots=True, eq=False)
class PreparedBatch:
    """A validated batch turned into what the database driver takes, ready to write.

    Preparing is pure and may run on another thread while the previous batch is written.
    """

    frame: pl.DataFrame
    key: tuple[str, ...]
    payload: list[tuple[Any, ...]] | bytes
    """Row tuples for SQLite's ``executemany``, CSV bytes for PostgreSQL's ``COPY``."""


def prepare_batch(dialect: str, frame: pl.DataFrame, key: Sequence[str]) -> PreparedBatch:
    """Convert ``frame`` into ``dialect``'s bulk input (``sqlite`` or ``postgresql``)."""
    if dialect == "postgresql":
        buffer = io.BytesIO()
        _as_text_columns(frame, bool_as_int=False).write_csv(buffer, include_header=False)
        return PreparedBatch(frame=frame, key=tuple(key), payload=buffer.getvalue())
    # Inserting in key order touches each page of the key's B-tree once per batch.
    ordered = frame.sort(key) if frame.height > 1 and not _in_key_order(frame, key) else frame
    rows = (
        _text_rows(ordered, bool_as_int=True)
        if ordered.height <= _FEW_ROWS
        else _as_text_columns(ordered, bool_as_int=True).rows()
    )
    return PreparedBatch(frame=frame, key=tuple(key), payload=rows)


def write_batch(
    connection: Connection,
    table: Table,
    batch: PreparedBatch,
    *,
    append_only: bool,
    update_columns: Sequence[str] | None = None,
) -> WriteCounts:
    """Write a prepared batch (keys unique) inside the caller's transaction.

    New rows are inserted whole. Stored rows are updated in ``update_columns`` (default:
    all columns) and only when a value differs; append-only writes skip rows whose key
    is already stored.
    """
    if batch.frame.height == 0:
        return WriteCounts()
    updating = list(update_columns if update_columns is not None else batch.frame.columns)
    if connection.dialect.name == "postgresql":
        return _write_postgresql(connection, table, batch, append_only, updating)
    return _write_sqlite(connection, table, batch, append_only, updating)


@contextmanager
def deferred_indexes(connection: Connection, table: Table) -> Iterator[None]:
    """Drop ``table``'s secondary indexes for a bulk load and rebuild them after it.

    Building an index once over sorted data is several times cheaper than keeping it up
    to date row by row. Inside the caller's transaction, so a failed load rolls the drop
    back too. Only worth it (and only used) on SQLite when a load is large next to the
    table; on PostgreSQL a dropped index would lock readers out for the whole load.
    """
    secondary = [index for index in table.indexes if not index.unique]
    for index in secondary:
        index.drop(connection)
    yield
    for index in secondary:
        index.create(connection)


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _conflict_clause(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    key: Sequence[str],
    append_only: bool,
) -> str:
    keys = ", ".join(_quote(connection, k) for k in key)
    changing = [c for c in columns if c not in key]
    if append_only or not changing:
        return f"ON CONFLICT ({keys}) DO NOTHING"
    target = _quote(connection, table.name)
    distinct = "IS DISTINCT FROM" if connection.dialect.name == "postgresql" else "IS NOT"
    assignments = ", ".join(
        f"{_quote(connection, c)} = excluded.{_quote(connection, c)}" for c in changing
    )
    differs = " OR ".join(
        f"{target}.{_quote(connection, c)} {distinct} excluded.{_quote(connection, c)}"
        for c in changing
    )
    return f"ON CONFLICT ({keys}) DO UPDATE SET {assignments} WHERE {differs}"


def _as_text_columns(frame: pl.DataFrame, *, bool_as_int: bool) -> pl.DataFrame:
    """Dates, times, lists and booleans as the database stores them through SQLAlchemy."""
    conversions: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype == pl.Date:
            conversions.append(column.dt.strftime("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            utc = column.dt.convert_time_zone("UTC") if dtype.time_zone else column
            conversions.append(utc.dt.replace_time_zone(None).dt.strftime("%Y-%m-%d %H:%M:%S.%6f"))
        elif isinstance(dtype, pl.List):
            conversions.append(
                column.map_elements(lambda items: json.dumps(list(items)), return_dtype=pl.String)
            )
        elif dtype == pl.Boolean and bool_as_int:
            conversions.append(column.cast(pl.Int8))
    return frame.with_columns(conversions) if conversions else frame


def _text_rows(frame: pl.DataFrame, *, bool_as_int: bool) -> list[tuple[Any, ...]]:
    """``_as_text_columns(frame, ...).rows()``, converted in plain Python: for a few rows,
    less overhead than polars' expressions."""
    conversions: list[tuple[int, Callable[[Any], Any]]] = []
    for index, column in enumerate(frame.get_columns()):
        dtype = column.dtype
        if dtype == pl.Date:
            conversions.append((index, _date_text))
        elif isinstance(dtype, pl.Datetime):
            if dtype.time_unit == "ns":  # finer than Python's datetimes: polars converts
                return _as_text_columns(frame, bool_as_int=bool_as_int).rows()
            conversions.append((index, _utc_text if dtype.time_zone else _naive_text))
        elif isinstance(dtype, pl.List):
            conversions.append((index, _list_text))
        elif dtype == pl.Boolean and bool_as_int:
            conversions.append((index, int))
    rows = frame.rows()
    if not conversions:
        return rows
    converted = []
    for row in rows:
        values = list(row)
        for index, convert in conversions:
            if values[index] is not None:  # a null stays null
                values[index] = convert(values[index])
        converted.append(tuple(values))
    return converted


def _date_text(value: date) -> str:
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def _naive_text(value: datetime) -> str:
    """As polars' ``strftime("%Y-%m-%d %H:%M:%S.%6f")``."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def _utc_text(value: datetime) -> str:
    return _naive_text(value.astimezone(UTC))


def _list_text(items: Any) -> str:
    return json.dumps(list(items))


def _in_key_order(frame: pl.DataFrame, key: Sequence[str]) -> bool:
    """Whether a few rows' single-column key is strictly increasing already (so sorting
    them would change nothing)."""
    if frame.height > _FEW_ROWS or len(key) != 1:
        return False
    values = frame.get_column(key[0]).to_list()
    try:
        return all(a < b for a, b in zip(values, values[1:], strict=False))
    except TypeError:  # nulls, or values of no order
        return False


def _count_existing(
    connection: Connection, table: Table, frame: pl.DataFrame, key: Sequence[str]
) -> int:
    target = _quote(connection, table.name)
    found = 0
    keys = frame.select(key).rows()
    if len(key) == 1:
        column = _quote(connection, key[0])
        for start in range(0, len(keys), _CHUNK):
            chunk = [row[0] for row in keys[start : start + _CHUNK]]
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT COUNT(*) FROM {target} WHERE {column} IN ({marks})"
            found += int(connection.exec_driver_sql(sql, tuple(chunk)).scalar_one())
        return found
    columns = ", ".join(_quote(connection, k) for k in key)
    row_marks = "(" + ", ".join("?" * len(key)) + ")"
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        marks = ", ".join([row_marks] * len(chunk))
        sql = f"SELECT COUNT(*) FROM {target} WHERE ({columns}) IN (VALUES {marks})"
        params = tuple(value for row in chunk for value in row)
        found += int(connection.exec_driver_sql(sql, params).scalar_one())
    return found


def _write_sqlite(
    connection: Connection,
    table: Table,
    batch: PreparedBatch,
    append_only: bool,
    updating: Sequence[str],
) -> WriteCounts:
    existing = 0 if append_only else _count_existing(connection, table, batch.frame, batch.key)
    sql = _sqlite_insert(
        connection, table, tuple(batch.frame.columns), tuple(updating), batch.key, append_only
    )
    affected = connection.exec_driver_sql(sql, batch.payload).rowcount
    return _counts(batch.frame.height, existing, affected, append_only)


def _sqlite_insert(
    connection: Connection,
    table: Table,
    columns: tuple[str, ...],
    updating: tuple[str, ...],
    key: tuple[str, ...],
    append_only: bool,
) -> str:
    """The insert of a batch of ``columns`` into ``table``; made once per shape (one-account
    runs write the same shape again and again)."""
    shape = (connection.dialect, table, columns, updating, key, append_only)
    sql = _SQLITE_INSERTS.get(shape)
    if sql is None:
        sql = (
            f"INSERT INTO {_quote(connection, table.name)} "
            f"({', '.join(_quote(connection, c) for c in columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}) "
            + _conflict_clause(connection, table, updating, key, append_only)
        )
        if len(_SQLITE_INSERTS) >= _SHAPES:
            _SQLITE_INSERTS.clear()
        _SQLITE_INSERTS[shape] = sql
    return sql


def _counts(total: int, existing: int, affected: int, append_only: bool) -> WriteCounts:
    if append_only:
        return WriteCounts(inserted=affected, duplicates=total - affected)
    inserted = total - existing
    updated = affected - inserted
    return WriteCounts(inserted=inserted, updated=updated, unchanged=existing - updated)


def _write_postgresql(
    connection: Connection,
    table: Table,
    batch: PreparedBatch,
    append_only: bool,
    updating: Sequence[str],
) -> WriteCounts:
    columns = list(batch.frame.columns)
    target = _quote(connection, table.name)
    stage = _quote(connection, f"nm_stage_{table.name}")
    column_list = ", ".join(_quote(connection, c) for c in columns)
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {target} INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    connection.exec_driver_sql(f"TRUNCATE {stage}")
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(f"COPY {stage} ({column_list}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(batch.payload)
    existing = 0
    if not append_only:
        join = " AND ".join(
            f"s.{_quote(connection, k)} = t.{_quote(connection, k)}" for k in batch.key
        )
        existing = int(
            connection.exec_driver_sql(
                f"SELECT COUNT(*) FROM {stage} s JOIN {target} t ON {join}"
            ).scalar_one()
        )
    affected = connection.exec_driver_sql(
        f"INSERT INTO {target} ({column_list}) SELECT {column_list} FROM {stage} "
        + _conflict_clause(connection, table, updating, batch.key, append_only)
    ).rowcount
    return _counts(batch.frame.height, existing, affected, append_only)
