"""Column steps that avoid polars' query engine where it would cost more than the work.

Most polars operations on a series or frame run as a query: a fixed cost of tens of
microseconds however few the rows. Deciding one account runs hundreds of them, so the
decision pipeline takes the few steps below — each equal, value for value and type for
type, to the polars operation named — from indexing, which polars does directly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = [
    "at_positions",
    "frame_at_positions",
    "nulls_filled",
    "rows_where",
    "take_rows",
    "typed_nulls",
]

Ints = npt.NDArray[np.int64]

_FEW = 1_000
"""Up to this many nulls are listed (cheaper than asking polars to repeat one)."""


def at_positions(series: pl.Series, positions: Ints) -> pl.Series:
    """The values of ``series`` at ``positions``, null where a position is -1.

    As ``series.gather`` with those positions, -1 as a null index.
    """
    missing = positions < 0
    if not missing.any():
        return series[positions]
    if len(series) == 0:
        return typed_nulls(series.name, series.dtype, len(positions))
    picked = series[np.where(missing, 0, positions)]
    return picked.scatter(np.flatnonzero(missing), None)


def frame_at_positions(frame: pl.DataFrame, positions: Ints) -> pl.DataFrame:
    """The rows of ``frame`` at ``positions``, all null where a position is -1."""
    return pl.DataFrame([at_positions(column, positions) for column in frame.get_columns()])


def rows_where(frame: pl.DataFrame, mask: pl.Series) -> pl.DataFrame:
    """``frame.filter(mask)``: the rows where ``mask`` is true (not false or null)."""
    return take_rows(frame, np.flatnonzero(nulls_filled(mask, False).to_numpy()))


def take_rows(frame: pl.DataFrame, positions: Ints) -> pl.DataFrame:
    """``frame[positions]``, without a gather when the positions are none, or one run of
    rows in order (a slice): a gather costs tens of microseconds on a wide frame, however
    few rows it takes."""
    if not len(positions):
        return frame.clear()
    first = int(positions[0])
    if len(positions) == 1 or (np.diff(positions) == 1).all():
        if 0 <= first and first + len(positions) <= frame.height:
            return frame.slice(first, len(positions))
    return frame[positions]


def typed_nulls(name: str, dtype: pl.DataType, length: int) -> pl.Series:
    """A series of ``length`` nulls of ``dtype``."""
    if length <= _FEW:
        return pl.Series(name, [None] * length, dtype=dtype)
    return pl.Series(name, dtype=dtype).extend_constant(None, length)


def nulls_filled(series: pl.Series, value: object) -> pl.Series:
    """``series.fill_null(value)``, skipped when there is no null."""
    return series if series.null_count() == 0 else series.fill_null(value)
