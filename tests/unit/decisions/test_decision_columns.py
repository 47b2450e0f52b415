"""The column steps that skip polars' query engine equal the polars operations they replace."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from nextmove.decisions.columns import at_positions, frame_at_positions, nulls_filled, rows_where


def _gathered(series: pl.Series, positions: list[int]) -> pl.Series:
    index = pl.Series("i", [p if p >= 0 else None for p in positions], dtype=pl.Int64)
    return series.gather(index)


SERIES = [
    pl.Series("s", ["a", None, "c"], dtype=pl.String),
    pl.Series("f", [1.5, float("nan"), None], dtype=pl.Float64),
    pl.Series("b", [True, None, False], dtype=pl.Boolean),
    pl.Series("i", [3, 2, 1], dtype=pl.Int64),
]


@pytest.mark.parametrize("series", SERIES, ids=lambda s: s.name)
@pytest.mark.parametrize("positions", [[], [0], [-1], [2, -1, 0, 0], [-1, -1], [1, 2, 0]])
def test_at_positions_is_gather_with_nulls_for_minus_one(
    series: pl.Series, positions: list[int]
) -> None:
    picked = at_positions(series, np.array(positions, dtype=np.int64))
    expected = _gathered(series, positions)
    assert picked.name == expected.name
    assert picked.equals(expected, check_dtypes=True)  # values, nulls and NaN (as equal)


@pytest.mark.parametrize("length", [0, 1, 3, 2_000])
def test_at_positions_of_no_rows_gives_typed_nulls(length: int) -> None:
    empty = pl.Series("e", [], dtype=pl.Datetime("us", "UTC"))
    picked = at_positions(empty, np.full(length, -1, dtype=np.int64))
    assert picked.dtype == empty.dtype and picked.name == "e"
    assert picked.null_count() == length == len(picked)


def test_frame_at_positions_keeps_columns_and_types() -> None:
    frame = pl.DataFrame(SERIES)
    positions = np.array([2, -1, 0], dtype=np.int64)
    picked = frame_at_positions(frame, positions)
    assert picked.schema == frame.schema
    expected = frame.select(pl.all().gather(pl.Series([2, None, 0], dtype=pl.Int64)))
    assert picked.equals(expected)
    assert frame_at_positions(frame.clear(), np.full(2, -1)).schema == frame.schema


def test_rows_where_is_filter_and_drops_null_flags() -> None:
    frame = pl.DataFrame({"x": [1, 2, 3, 4]})
    mask = pl.Series([True, None, False, True], dtype=pl.Boolean)
    assert rows_where(frame, mask).equals(frame.filter(mask))
    assert rows_where(frame.clear(), pl.Series([], dtype=pl.Boolean)).equals(frame.clear())


@pytest.mark.parametrize("series", SERIES, ids=lambda s: s.name)
def test_nulls_filled_is_fill_null(series: pl.Series) -> None:
    value = {pl.String: "z", pl.Float64: 0.0, pl.Boolean: True, pl.Int64: 7}[series.dtype]
    assert nulls_filled(series, value).equals(series.fill_null(value))
    whole = series.drop_nulls()
    assert nulls_filled(whole, value) is whole  # nothing to fill: no query at all
