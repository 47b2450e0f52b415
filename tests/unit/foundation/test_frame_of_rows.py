"""Query rows as polars frames: the same frame however many rows, and never a shared one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from nextmove.foundation.repository import frame_of_rows

SCHEMA = {
    "account_id": pl.String(),
    "occurred_at": pl.Datetime("us", "UTC"),
    "value": pl.Float64(),
    "count": pl.Int64(),
    "since": pl.Date(),
    "active": pl.Boolean(),
    "tags": pl.List(pl.String()),
}
START = datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)  # before the epoch too


def rows(n: int) -> list[tuple[object, ...]]:
    return [
        (
            f"acct-{i}",
            None if i % 7 == 0 else START + timedelta(days=i, microseconds=i),
            i / 3,
            i,
            date(2026, 1, 1) + timedelta(days=i),
            i % 2 == 0,
            [f"t{i}"],
        )
        for i in range(n)
    ]


def test_many_rows_make_the_frame_row_by_row_building_makes() -> None:
    many = rows(2_500)
    built = frame_of_rows(many, SCHEMA)
    assert built.schema == pl.Schema(SCHEMA)
    assert built.equals(pl.DataFrame(many, schema=SCHEMA, orient="row"))
    assert built["occurred_at"][1] == START + timedelta(days=1, microseconds=1)


def test_no_rows_make_an_empty_frame_of_the_schema() -> None:
    empty = frame_of_rows([], SCHEMA)
    assert empty.height == 0 and empty.schema == pl.Schema(SCHEMA)


def test_the_same_few_rows_again_make_an_equal_frame_not_the_same_one() -> None:
    few = rows(5)
    first = frame_of_rows(few, SCHEMA)
    again = frame_of_rows(list(few), SCHEMA)
    assert again.equals(first) and again is not first
    again.insert_column(0, pl.Series("extra", [1] * 5))  # a caller changing its frame
    assert frame_of_rows(few, SCHEMA).equals(first)
    changed = [*few[:4], ("acct-x", *few[4][1:])]
    assert frame_of_rows(changed, SCHEMA)["account_id"].to_list()[-1] == "acct-x"
