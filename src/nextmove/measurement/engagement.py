"""Engagement drift: does a motion still get the responses it used to?

Conversions are rare (a handful a day at most), so a weakening programme shows first in
its engagement: the clicks, visits or replies that follow its touches. Pure functions
over frames; :mod:`nextmove.measurement.service` reads the store for them.

*Which signals are engagement* is read from the data: a signal type (of the playbook's
declared counts) engages a motion when, over the reference period, the touched accounts
had it within ``engagement_days`` after a touch at least ``engagement_ratio`` times as
often, relative to the same span before it, as every account had it (a difference in
differences: the touched accounts were chosen for their recent signals, and the signals
of every account rise and fall with the calendar), and at least
``min_reference_engagements`` times. ``MonitorSettings.engagement_types`` names them
outright instead.

*The detector.* Per touch day, the share of touched accounts with the signal within
``engagement_days`` after the touch (only touches whose window closed by ``as_of``);
the expected share is the motion's own over the first ``reference_days``, and a
one-sided Bernoulli CUSUM (:func:`~nextmove.measurement.drift.bernoulli_cusum`) watches
the days after it for a fall of ``engagement_shift``. A rise is good news, not an alarm.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from nextmove.measurement.drift import bernoulli_cusum
from nextmove.measurement.model import DriftAlarm, LiftRow
from nextmove.measurement.monitoring import MonitorSettings

__all__ = ["EngagementContext", "daily_engagement", "engagement_alarms", "engagement_signals"]

_SCHEMA = {
    "motion": pl.String,
    "signal_type": pl.String,
    "day": pl.Date,
    "touches": pl.Int64,
    "engaged": pl.Int64,
    "engaged_before": pl.Int64,
    "population_after": pl.Int64,
    "population_before": pl.Int64,
}


@dataclass(frozen=True)
class EngagementContext:
    """What the alarms' proposals draw on besides the series."""

    channels: Mapping[str, str]
    """Each motion's channel (``email``, ``phone``, …)."""
    priors: Mapping[str, float]
    """The playbook's ``prior_uplift`` of the motions that have one."""
    lift_by_motion: tuple[LiftRow, ...] = ()
    """The measured revenue lift of each motion (where to shift capacity to)."""
    costs: Mapping[str, float] | None = None


def daily_engagement(
    touches: pl.DataFrame, events: pl.DataFrame, types: Iterable[str], as_of: datetime, days: int
) -> pl.DataFrame:
    """Return motion, signal_type, day, touches, engaged, engaged_before,
    population_after and population_before per touch day.

    ``touches``: account_id, motion, as_of (when the move was made); ``events``:
    account_id, signal_type, occurred_at. ``engaged`` counts touches followed by the
    signal within ``days``; ``engaged_before`` those with it in the ``days`` before; the
    population columns count every account with it in those spans.
    """
    window = timedelta(days=days)
    kinds = pl.DataFrame({"signal_type": sorted(set(types))}, schema={"signal_type": pl.String})
    closed = touches.filter(pl.col("as_of") + window <= as_of).select(
        "account_id", "motion", "as_of"
    )
    if closed.height == 0 or kinds.height == 0:
        return pl.DataFrame(schema=_SCHEMA)
    closed = closed.unique().with_row_index("touch")
    relevant = events.filter(pl.col("signal_type").is_in(kinds["signal_type"].implode()))
    seen = (
        closed.join(relevant, on="account_id")
        .with_columns(_sides(window))
        .group_by("touch", "signal_type")
        .agg(pl.col("after").any(), pl.col("before").any())
    )
    per_day = (
        closed.join(kinds, how="cross")
        .join(seen, on=["touch", "signal_type"], how="left")
        .group_by("motion", "signal_type", pl.col("as_of").dt.date().alias("day"))
        .agg(
            pl.len().cast(pl.Int64).alias("touches"),
            pl.col("after").fill_null(False).sum().cast(pl.Int64).alias("engaged"),
            pl.col("before").fill_null(False).sum().cast(pl.Int64).alias("engaged_before"),
        )
    )
    population = _population(closed, kinds, relevant, window)
    return (
        per_day.join(population, on=["motion", "signal_type", "day"], how="left")
        .with_columns(pl.col("population_after", "population_before").fill_null(0))
        .select(list(_SCHEMA))
        .sort("motion", "signal_type", "day")
    )


def _sides(window: timedelta) -> list[pl.Expr]:
    at, when = pl.col("as_of"), pl.col("occurred_at")
    return [
        ((when > at) & (when <= at + window)).alias("after"),
        ((when <= at) & (when > at - window)).alias("before"),
    ]


def _population(
    closed: pl.DataFrame, kinds: pl.DataFrame, events: pl.DataFrame, window: timedelta
) -> pl.DataFrame:
    """Accounts with each signal in the spans after and before each run's touches, summed
    over a motion's runs of a day."""
    runs = closed.select("motion", "as_of").unique()
    times = runs.select("as_of").unique()
    around = (
        times.join_where(
            events,
            pl.col("occurred_at") > pl.col("as_of") - window,
            pl.col("occurred_at") <= pl.col("as_of") + window,
        )
        .with_columns(_sides(window))
        .group_by("as_of", "signal_type")
        .agg(
            pl.col("account_id").filter(pl.col("after")).n_unique().alias("population_after"),
            pl.col("account_id").filter(pl.col("before")).n_unique().alias("population_before"),
        )
    )
    return (
        runs.join(kinds, how="cross")
        .join(around, on=["as_of", "signal_type"], how="left")
        .group_by("motion", "signal_type", pl.col("as_of").dt.date().alias("day"))
        .agg(
            pl.col("population_after").fill_null(0).sum().cast(pl.Int64),
            pl.col("population_before").fill_null(0).sum().cast(pl.Int64),
        )
    )


def _split(series: pl.DataFrame, reference_days: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    first: date = series["day"].min()  # type: ignore[assignment]
    cut = first + timedelta(days=reference_days)
    return series.filter(pl.col("day") < cut), series.filter(pl.col("day") >= cut)


def engagement_signals(daily: pl.DataFrame, settings: MonitorSettings) -> list[tuple[str, str]]:
    """Return the (motion, signal_type) pairs that are engagement (see the module docstring)."""
    pairs = []
    for (motion, kind), series in daily.group_by("motion", "signal_type", maintain_order=True):
        reference, _watched = _split(series, settings.reference_days)
        after = int(reference["engaged"].sum())
        if settings.engagement_types:
            chosen = kind in settings.engagement_types
        else:
            touched = after / max(int(reference["engaged_before"].sum()), 1)
            everyone = int(reference["population_after"].sum()) / max(
                int(reference["population_before"].sum()), 1
            )
            chosen = touched >= settings.engagement_ratio * everyone
        if chosen and after >= settings.min_reference_engagements:
            pairs.append((str(motion), str(kind)))
    return pairs


def engagement_alarms(
    daily: pl.DataFrame, settings: MonitorSettings, context: EngagementContext
) -> list[DriftAlarm]:
    """Return an alarm per motion and engagement signal whose rate fell."""
    alarms = []
    for motion, kind in engagement_signals(daily, settings):
        series = daily.filter((pl.col("motion") == motion) & (pl.col("signal_type") == kind))
        reference, watched = _split(series, settings.reference_days)
        if watched.height == 0:
            continue
        p0 = int(reference["engaged"].sum()) / int(reference["touches"].sum())
        found = bernoulli_cusum(
            watched["engaged"].to_numpy(), watched["touches"].to_numpy(), p0,
            shift=settings.engagement_shift, threshold=settings.threshold, sides=("down",),
        )  # fmt: skip
        if found.alarm_at is None or found.change_at is None:
            continue
        since = watched.slice(found.change_at)
        p1 = int(since["engaged"].sum()) / max(int(since["touches"].sum()), 1)
        alarms.append(
            _alarm(motion, kind, p0, p1, watched["day"][found.alarm_at],
                   watched["day"][found.change_at], float(found.statistic[found.alarm_at]),
                   settings, context)
        )  # fmt: skip
    return alarms


def _alarm(
    motion: str, kind: str, p0: float, p1: float, alarm_day: date, change_day: date,
    statistic: float, settings: MonitorSettings, context: EngagementContext,
) -> DriftAlarm:  # fmt: skip
    fall = 1 - p1 / p0
    channel = context.channels.get(motion, "")
    days = settings.engagement_days
    return DriftAlarm(
        key=f"engagement:{motion}:{kind}",
        kind="engagement",
        subject=motion,
        detector="bernoulli_cusum",
        detected_on=alarm_day + timedelta(days=days),
        change_from=change_day,
        summary=(
            f"{motion} ({channel}): {kind} within {days} days of a touch fell {fall:.0%} "
            f"since {change_day.isoformat()}, from {p0:.1%} to {p1:.1%} of touched accounts "
            f"(CUSUM {statistic:.1f} > {settings.threshold:g})"
        ),
        proposal=_proposal(motion, fall, change_day, context),
        evidence={
            "motion": motion, "channel": channel, "signal_type": kind,
            "expected_rate": p0, "observed_rate": p1, "relative_change": -fall,
            "change_from": change_day.isoformat(), "alarm_day": alarm_day.isoformat(),
            "statistic": statistic, "threshold": settings.threshold,
            "shift": settings.engagement_shift, "engagement_days": days,
        },
    )  # fmt: skip


def _proposal(motion: str, fall: float, change_day: date, context: EngagementContext) -> str:
    check = (
        f"check {motion}'s content, audience and delivery since {change_day.isoformat()}; "
        f"if its conversions follow its engagement, expect about {fall:.0%} less from it"
    )
    prior = context.priors.get(motion)
    if prior is not None:
        check += (
            f" (set actions.{motion}.prior_uplift from {prior:g} to about "
            f"{prior * (1 - fall):.2g} and retrain: nextmove learn)"
        )
    costs = context.costs or {}
    better = sorted(
        (row for row in context.lift_by_motion
         if row.group != motion and row.lift.significant and row.lift.value > 0),
        key=lambda row: row.lift.value - costs.get(row.group, 0.0), reverse=True,
    )  # fmt: skip
    if better:
        shift = ", ".join(
            f"{row.group} (measured lift {row.lift.value:,.0f} per account "
            f"[{row.lift.low:,.0f}, {row.lift.high:,.0f}])"
            for row in better[:2]
        )
        check += f"; consider shifting capacity to {shift}"
    return check
