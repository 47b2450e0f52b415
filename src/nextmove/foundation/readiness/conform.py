"""Conforming the inputs: every frame gets exactly its expected columns and types.

The sections of the report can then rely on every column being there, even when a
frame is empty, lacks columns or holds all-null ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace

import polars as pl

from nextmove.foundation.readiness.model import ReadinessInputs
from nextmove.foundation.schema import record_schema

__all__ = ["conformed"]

_UTC = pl.Datetime("us", "UTC")
_BASE_TYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "enum": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": _UTC,
    "list": pl.List(pl.String),
}
_OTHER_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "last_signals": {"account_id": pl.String(), "last_signal_at": _UTC},
    "quarantine": {
        "run_id": pl.Int64(),
        "kind": pl.String(),
        "file": pl.String(),
        "row_number": pl.Int64(),
        "field": pl.String(),
        "value": pl.String(),
        "reason": pl.String(),
    },
}


def _schema(name: str) -> dict[str, pl.DataType]:
    """The expected columns and types of the input frame called ``name``."""
    if name in _OTHER_SCHEMAS:
        return _OTHER_SCHEMAS[name]
    return {spec.name: _BASE_TYPES[spec.base] for spec in record_schema(name).fields}


def conformed(inputs: ReadinessInputs) -> ReadinessInputs:
    """Every frame with exactly its expected columns and types (missing ones all null)."""
    frames = {f.name: _conform(getattr(inputs, f.name), _schema(f.name)) for f in fields(inputs)}
    return replace(inputs, **frames)


def _conform(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` with exactly the columns of ``schema``, in that order (missing ones null)."""
    height = frame.height
    columns = [
        _cast(frame[name], dtype)
        if name in frame.columns
        else pl.repeat(None, height, dtype=dtype, eager=True).alias(name)
        for name, dtype in schema.items()
    ]
    return pl.DataFrame(columns)


def _cast(column: pl.Series, dtype: pl.DataType) -> pl.Series:
    """``column`` as ``dtype``: datetimes moved to UTC, values that do not fit null."""
    if isinstance(dtype, pl.Datetime) and isinstance(column.dtype, pl.Datetime):
        zoned = (
            column.dt.replace_time_zone("UTC")
            if column.dtype.time_zone is None
            else column.dt.convert_time_zone("UTC")
        )
        return zoned.cast(dtype)
    return column if column.dtype == dtype else column.cast(dtype, strict=False)
