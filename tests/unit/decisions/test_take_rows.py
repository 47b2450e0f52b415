"""``take_rows`` is ``frame[positions]``: value for value and type for type."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from nextmove.decisions.columns import take_rows

FRAME = pl.DataFrame(
    {"a": [1, 2, None, 4, 5], "b": ["x", None, "z", "w", "v"], "c": [0.5, 1.5, 2.5, None, 4.5]},
    schema={"a": pl.Int64, "b": pl.Enum(["v", "w", "x", "z"]), "c": pl.Float64},
)


@pytest.mark.parametrize(
    "positions",
    [[], [0], [4], [1, 2, 3], [0, 1, 2, 3, 4], [3, 1], [2, 2, 2], [0, 2], [-1], [-2, -1]],
)
def test_rows_taken_are_the_gathered_rows(positions: list[int]) -> None:
    at = np.array(positions, dtype=np.int64)
    taken = take_rows(FRAME, at)
    assert taken.schema == FRAME.schema
    assert taken.equals(FRAME[at])


def test_positions_past_the_end_fail_as_a_gather_does() -> None:
    with pytest.raises(pl.exceptions.OutOfBoundsError):
        FRAME[np.array([4, 5])]
    with pytest.raises(pl.exceptions.OutOfBoundsError):
        take_rows(FRAME, np.array([4, 5]))
