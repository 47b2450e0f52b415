"""Day indexes (relative to the history start) to dates and UTC timestamps."""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["DAY_US", "day_dates", "epoch_day", "timestamps"]

DAY_US = 86_400_000_000
"""Microseconds in a day."""


def epoch_day(day: date) -> int:
    """Return the number of days from 1970-01-01 to ``day``."""
    return (day - date(1970, 1, 1)).days


def day_dates(start: date, day: npt.NDArray[np.int64]) -> npt.NDArray[np.datetime64]:
    """Return the calendar dates of day indexes counted from ``start``."""
    return np.datetime64(start, "D") + day.astype("timedelta64[D]")


def timestamps(
    start: date, day: npt.NDArray[np.int64], seconds: npt.NDArray[np.int64]
) -> pl.Series:
    """Return timezone-aware UTC datetimes at ``seconds`` into each day index."""
    at_us = (epoch_day(start) + day) * DAY_US + seconds * 1_000_000
    return pl.Series(at_us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))
