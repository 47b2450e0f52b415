"""A few rows are turned into SQLite's row tuples in plain Python: the same tuples, value for
value and type for type, as the polars conversion a batch takes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from nextmove.store import bulk, prepare_batch


def _zoo(rows: int) -> pl.DataFrame:
    """Every kind of column a batch converts (and some it leaves alone), nulls included."""
    paris = ZoneInfo("Europe/Paris")
    instants = [
        datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # the hour Paris lives twice
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        None,
    ]
    picked = [instants[i % len(instants)] for i in range(rows)]
    return pl.DataFrame(
        {
            "key": list(range(rows, 0, -1)),
            "text": [f"t{i}" if i % 3 else None for i in range(rows)],
            "number": [i / 7 if i % 4 else None for i in range(rows)],
            "flag": [None if i % 5 == 0 else i % 2 == 0 for i in range(rows)],
            "utc": pl.Series(picked, dtype=pl.Datetime("us", "UTC")),
            "paris": pl.Series(picked, dtype=pl.Datetime("us", "UTC")).dt.convert_time_zone(
                "Europe/Paris"
            ),
            "naive": pl.Series(
                [None if v is None else v.astimezone(paris).replace(tzinfo=None) for v in picked],
                dtype=pl.Datetime("us"),
            ),
            "millis": pl.Series(picked, dtype=pl.Datetime("us", "UTC")).cast(
                pl.Datetime("ms", "UTC")
            ),
            "day": [date(2026, 1, 1) + timedelta(days=i) if i % 3 else None for i in range(rows)],
            "words": [["a", str(i)] if i % 3 else ([] if i % 2 else None) for i in range(rows)],
            "numbers": [[i, i + 1] if i % 2 else None for i in range(rows)],
            "clock": [time(1, 2, 3, i) if i % 2 else None for i in range(rows)],
            "wait": [timedelta(seconds=i) for i in range(rows)],
            "level": pl.Series(
                ["a", "b"] * (rows // 2) + ["a"] * (rows % 2), dtype=pl.Enum(["a", "b"])
            ),
        }
    )


@pytest.mark.parametrize("rows", [1, 2, 7, 40])
@pytest.mark.parametrize("bool_as_int", [True, False])
def test_a_few_rows_become_the_tuples_polars_makes(rows: int, bool_as_int: bool) -> None:
    frame = _zoo(rows)
    python = bulk._text_rows(frame, bool_as_int=bool_as_int)
    polars = bulk._as_text_columns(frame, bool_as_int=bool_as_int).rows()
    assert python == polars
    assert [tuple(map(type, row)) for row in python] == [tuple(map(type, row)) for row in polars]


def test_nanoseconds_are_converted_by_polars() -> None:
    frame = pl.DataFrame(
        {"at": pl.Series([datetime(2026, 1, 1, 0, 0, 0, 1)], dtype=pl.Datetime("ns"))}
    ).with_columns(pl.col("at") + pl.duration(nanoseconds=999))
    assert bulk._text_rows(frame, bool_as_int=True) == [("2026-01-01 00:00:00.000001",)]
    assert bulk._as_text_columns(frame, bool_as_int=True).rows() == [
        ("2026-01-01 00:00:00.000001",)
    ]


def test_an_offset_time_zone_converts_to_utc() -> None:
    at = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))
    frame = pl.DataFrame({"at": pl.Series([at], dtype=pl.Datetime("us", "UTC"))})
    assert bulk._text_rows(frame, bool_as_int=True) == [("2026-06-01 17:30:00.000000",)]


@pytest.mark.parametrize("keys", [[3, 1, 2], [1, 2, 3], [1, 1, 2], [None, 1, 2], [5]])
def test_a_few_rows_are_prepared_as_many_would_be(
    keys: list[int | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _zoo(len(keys)).with_columns(key=pl.Series(keys, dtype=pl.Int64))
    few = prepare_batch("sqlite", frame, ("key",))
    monkeypatch.setattr(bulk, "_FEW_ROWS", 0)
    many = prepare_batch("sqlite", frame, ("key",))
    assert few.payload == many.payload
    assert few.frame.equals(many.frame) and few.key == many.key
