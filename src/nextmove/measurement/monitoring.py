"""What drifted: each motion's conversion, the mix of incoming signals, and calibration.

Pure functions over frames; :mod:`nextmove.measurement.service` reads the store for them.

*Conversion.* A move of motion M made on day d converts when its account buys the move's
product (any product when the move named none) within ``conversion_days`` after it. Only
moves whose window has closed count. The expected rate is the motion's own rate over the
first ``reference_days`` of the monitored days; a Bernoulli CUSUM
(:func:`~nextmove.measurement.drift.bernoulli_cusum`) watches the days after it for a
change of ``shift`` (a halving by default) either way.

*Inputs.* The mix of signal types of the last ``recent_days`` against the days before it,
by the population stability index; above ``psi_threshold`` the inputs the model reads
no longer look like those it learned from.
The model's own inputs — every account feature and product interest it reads — are
compared feature by feature, by the same index, between the data it learned from and now
(:mod:`nextmove.measurement.input_drift`).

*Calibration.* What the acting decisions expected to bring per treated account against
the lift measured on the holdout: an expectation outside the lift's interval is an alarm.

*Engagement* (clicks, visits, replies after a motion's touches: far more frequent than
conversions, so a weakening programme shows there first) is in
:mod:`nextmove.measurement.engagement`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from nextmove.domain import SALE_OUTCOMES
from nextmove.measurement.drift import bernoulli_cusum, psi
from nextmove.measurement.model import DriftAlarm, LiftRow

__all__ = ["MonitorSettings", "calibration_alarm", "conversion_alarms", "daily_conversions",
           "input_alarms"]  # fmt: skip

NO_ACTION = "no_action"


@dataclass(frozen=True)
class MonitorSettings:
    """How the detectors look (the defaults suit a daily decision run)."""

    lookback_days: int = 56
    reference_days: int = 14
    conversion_days: int = 7
    shift: float = 0.5
    threshold: float = 8.0
    recent_days: int = 7
    psi_threshold: float = 0.25
    min_reference_conversions: int = 5
    engagement_days: int = 3
    """A touch engaged when its account sent the signal within these days after it."""
    engagement_shift: float = 0.3
    """The relative fall of an engagement rate the CUSUM is tuned to."""
    engagement_ratio: float = 1.25
    """How much likelier after a touch than before it a signal must be to count as engagement."""
    min_reference_engagements: int = 10
    engagement_types: tuple[str, ...] = ()
    """Signal types that are engagement, named outright (empty: found from the data)."""
    feature_bins: int = 10
    """Quantile bins of a model input's distribution for its PSI."""
    feature_sample: int = 20_000
    """At most this many accounts (a seeded, stable sample) are compared on their inputs."""
    min_feature_accounts: int = 500
    """With fewer accounts at either time the inputs are not judged (PSI would be noise)."""
    feature_warmup_days: int = 28
    """Days of stored signals a reference snapshot needs behind it (decayed scores fill up)."""
    sample_seed: int = 0


def daily_conversions(
    logged: pl.DataFrame, outcomes: pl.DataFrame, as_of: datetime, conversion_days: int
) -> pl.DataFrame:
    """Return motion, day, moves, conversions of the moves whose window closed by ``as_of``."""
    window = timedelta(days=conversion_days)
    moves = logged.filter(
        (pl.col("action") != NO_ACTION) & ~pl.col("holdout") & (pl.col("as_of") + window <= as_of)
    ).select("run_id", "account_id", "action", "product_id", "as_of")
    if moves.height == 0:
        return pl.DataFrame(
            schema={"motion": pl.String, "day": pl.Date, "moves": pl.Int64, "conversions": pl.Int64}
        )
    bought = outcomes.filter(pl.col("outcome_type").is_in(SALE_OUTCOMES)).select(
        "account_id", pl.col("product_id").alias("bought"), "occurred_at"
    )
    converted = (
        moves.join(bought, on="account_id")
        .filter(
            (pl.col("occurred_at") > pl.col("as_of"))
            & (pl.col("occurred_at") <= pl.col("as_of") + window)
            & (pl.col("product_id").is_null() | (pl.col("product_id") == pl.col("bought")))
        )
        .select("run_id", "account_id", "action")
        .unique()
        .with_columns(converted=pl.lit(1))
    )
    return (
        moves.join(converted, on=["run_id", "account_id", "action"], how="left")
        .group_by(pl.col("action").alias("motion"), pl.col("as_of").dt.date().alias("day"))
        .agg(pl.len().cast(pl.Int64).alias("moves"),
             pl.col("converted").fill_null(0).sum().cast(pl.Int64).alias("conversions"))
        .sort("motion", "day")
    )  # fmt: skip


def conversion_alarms(
    daily: pl.DataFrame,
    settings: MonitorSettings,
    prior_uplift: Mapping[str, float] | None = None,
) -> list[DriftAlarm]:
    """Return an alarm per motion whose conversion changed (see the module docstring)."""
    alarms = []
    for (motion,), series in daily.group_by("motion", maintain_order=True):
        days = series["day"].to_list()
        reference = series.filter(pl.col("day") < days[0] + timedelta(days=settings.reference_days))
        watched = series.filter(pl.col("day") >= days[0] + timedelta(days=settings.reference_days))
        expected = int(reference["conversions"].sum())
        if watched.height == 0 or expected < settings.min_reference_conversions:
            continue
        p0 = expected / int(reference["moves"].sum())
        found = bernoulli_cusum(
            watched["conversions"].to_numpy(), watched["moves"].to_numpy(), p0,
            shift=settings.shift, threshold=settings.threshold,
        )  # fmt: skip
        if found.alarm_at is None or found.change_at is None:
            continue
        since = watched.slice(found.change_at)
        p1 = int(since["conversions"].sum()) / max(int(since["moves"].sum()), 1)
        alarm_day: date = watched["day"][found.alarm_at]
        change_day: date = watched["day"][found.change_at]
        prior = (prior_uplift or {}).get(str(motion))
        alarms.append(
            _conversion_alarm(str(motion), p0, p1, alarm_day, change_day, settings, prior,
                              found.direction or "down", float(found.statistic[found.alarm_at]))
        )  # fmt: skip
    return alarms


def _conversion_alarm(
    motion: str, p0: float, p1: float, alarm_day: date, change_day: date,
    settings: MonitorSettings, prior: float | None, direction: str, statistic: float,
) -> DriftAlarm:  # fmt: skip
    verb = "fell" if direction == "down" else "rose"
    ratio = p1 / p0 if p0 else 1.0
    prior_text = (
        f"set actions.{motion}.prior_uplift from {prior:g} to about {prior * ratio:.3g}, "
        if prior is not None
        else ""
    )
    return DriftAlarm(
        key=f"conversion:{motion}",
        kind="conversion",
        subject=motion,
        detector="bernoulli_cusum",
        detected_on=alarm_day + timedelta(days=settings.conversion_days),
        change_from=change_day,
        summary=(
            f"{motion}: conversion {verb} from {p0:.2%} to {p1:.2%} of moves "
            f"since {change_day.isoformat()} (CUSUM {statistic:.1f} > {settings.threshold:g})"
        ),
        proposal=(
            f"{prior_text}retrain the response model (nextmove learn) so {motion} is valued "
            f"as it converts now, and check its content, audience and delivery since "
            f"{change_day.isoformat()}"
        ),
        evidence={
            "motion": motion, "expected_rate": p0, "observed_rate": p1,
            "change_from": change_day.isoformat(), "alarm_day": alarm_day.isoformat(),
            "statistic": statistic, "threshold": settings.threshold, "shift": settings.shift,
            "conversion_days": settings.conversion_days,
        },
    )  # fmt: skip


def input_alarms(
    signals: pl.DataFrame, as_of: datetime, settings: MonitorSettings
) -> list[DriftAlarm]:
    """Return an alarm when the recent mix of signal types departs from the one before."""
    cut = as_of - timedelta(days=settings.recent_days)
    recent = signals.filter(pl.col("occurred_at") >= cut)["signal_type"].value_counts()
    before = signals.filter(pl.col("occurred_at") < cut)["signal_type"].value_counts()
    mix = before.join(recent, on="signal_type", how="full", coalesce=True, suffix="_recent")
    mix = mix.fill_null(0).sort("signal_type")
    if mix.height == 0 or recent.height == 0 or before.height == 0:
        return []
    reference, latest = mix["count"].to_numpy(), mix["count_recent"].to_numpy()
    index = psi(reference, latest)
    if index <= settings.psi_threshold:
        return []
    shares = mix.with_columns(
        before=pl.col("count") / pl.col("count").sum(),
        recent=pl.col("count_recent") / pl.col("count_recent").sum(),
    ).with_columns(change=(pl.col("recent") - pl.col("before")).abs())
    top = shares.sort("change", descending=True).head(3)
    moved = ", ".join(
        f"{name} {a:.1%}→{b:.1%}"
        for name, a, b in top.select("signal_type", "before", "recent").iter_rows()
    )
    return [
        DriftAlarm(
            key="input:signal_mix",
            kind="input",
            subject="signal types",
            detector="psi",
            detected_on=as_of.date(),
            change_from=cut.date(),
            summary=f"the mix of incoming signals shifted (PSI {index:.2f}): {moved}",
            proposal=(
                "check the sources and tracking of these signals; if the change is real, "
                "retrain the response model (nextmove learn) so it reads them as they are now"
            ),
            evidence={
                "psi": index, "threshold": settings.psi_threshold,
                "recent_days": settings.recent_days,
                "shares": {name: [a, b] for name, a, b in
                           shares.select("signal_type", "before", "recent").iter_rows()},
            },
        )
    ]  # fmt: skip


def calibration_alarm(
    overall: LiftRow | None, predicted: float, as_of: datetime
) -> DriftAlarm | None:
    """Return an alarm when the predicted lift per treated account is outside the measured
    lift's interval (None without a measured lift)."""
    if overall is None or overall.lift.covers(predicted):
        return None
    lift = overall.lift
    ratio = lift.value / predicted if predicted else float("nan")
    return DriftAlarm(
        key="calibration:revenue",
        kind="calibration",
        subject="expected value",
        detector="holdout",
        detected_on=as_of.date(),
        change_from=None,
        summary=(
            f"decisions expected {predicted:,.0f} per treated account; the holdout measures "
            f"{lift.value:,.0f} [{lift.low:,.0f}, {lift.high:,.0f}]"
        ),
        proposal=(
            "retrain the response model (nextmove learn); until then scale the actions' "
            f"prior_uplift by about {ratio:.2g}"
        ),
        evidence={"predicted": predicted, "measured": lift.value, "low": lift.low,
                  "high": lift.high, "treated": overall.treated, "control": overall.control},
    )  # fmt: skip
