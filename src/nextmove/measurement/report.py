"""The measurement report: one self-contained HTML file (inline SVG, no script, no CDN).

It shows the lift against the holdout over time with its interval, the lift by segment,
motion and product, the motion mix and capacity use per day, each motion's conversion
with drift markers, and the model versions in use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Engine

from nextmove.measurement import service
from nextmove.measurement.charts import Band, Marker, band_chart, line_chart, stacked_bars
from nextmove.measurement.model import DriftAlarm, ImpactReport, LiftRow, Metric
from nextmove.measurement.monitoring import MonitorSettings, daily_conversions
from nextmove.measurement.repository import MeasurementRepository
from nextmove.playbook.model import Playbook
from nextmove.store import UnitOfWork

__all__ = ["ReportData", "gather_report", "render_report"]

_TEMPLATES = Path(__file__).with_name("templates")
NO_ACTION = "no_action"


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, charts already drawn."""

    as_of: datetime
    playbook_version: int
    impact: ImpactReport
    alarms: tuple[DriftAlarm, ...]
    models: tuple[tuple[str, str, int], ...]
    """(model version, first day used, runs)."""
    charts: dict[str, str]


def gather_report(
    *,
    engine: Engine,
    playbook: Playbook,
    playbook_version: int,
    as_of: datetime,
    since: datetime | None,
    settings: MonitorSettings,
) -> ReportData:
    """Read and compute what the report shows."""
    impact = service.impact(engine=engine, playbook=playbook, until=as_of, since=since)
    alarms, _monitored = service.detect_drift(
        engine=engine, playbook=playbook, as_of=as_of, settings=settings
    )
    with UnitOfWork(engine) as uow:
        repository = MeasurementRepository(uow.connection)
        logged = repository.logged(since=since, until=as_of)
        outcomes = repository.outcomes(since=since)
        runs = repository.runs()
    runs = runs.filter(pl.col("as_of") < as_of)
    if since is not None:
        runs = runs.filter(pl.col("as_of") >= since)
    models = _models(runs)
    markers = [Marker(day, f"model {version[:8]}", "#6b7280") for version, day, _ in models[1:]]
    drift_markers = [Marker(a.detected_on.isoformat(), f"drift: {a.subject}") for a in alarms]
    charts = {
        "lift": _lift_chart(impact, markers + drift_markers),
        "mix": _mix_chart(logged, drift_markers),
        "capacity": _capacity_chart(logged, playbook),
        "conversion": _conversion_chart(logged, outcomes, as_of, settings, drift_markers),
    }
    return ReportData(as_of, playbook_version, impact, tuple(alarms), tuple(models), charts)


def _models(runs: pl.DataFrame) -> list[tuple[str, str, int]]:
    if runs.height == 0:
        return []
    grouped = (
        runs.with_columns(change=(pl.col("model_version") != pl.col("model_version").shift()))
        .with_columns(spell=pl.col("change").fill_null(True).cum_sum())
        .group_by("spell", maintain_order=True)
        .agg(pl.col("model_version").first(), pl.col("as_of").min(), pl.len())
    )
    return [(v, a.date().isoformat(), n) for _s, v, a, n in grouped.iter_rows()]


def _lift_chart(impact: ImpactReport, markers: list[Marker]) -> str:
    weeks = [r for r in impact.rows if r.dimension == "week"]
    points = [Band(r.group, r.lift.value, r.lift.low, r.lift.high) for r in weeks]
    return band_chart(
        "Revenue lift per treated account (cumulative, 95% interval)", points, markers
    )


def _days(logged: pl.DataFrame) -> pl.DataFrame:
    return logged.with_columns(day=pl.col("as_of").dt.date().cast(pl.String))


def _mix_chart(logged: pl.DataFrame, markers: list[Marker]) -> str:
    if logged.height == 0:
        return stacked_bars("Moves per day by motion", [], {})
    days = _days(logged)
    counts = (
        days.filter(pl.col("action") != NO_ACTION)
        .group_by("day", "action")
        .len()
        .pivot(on="action", index="day", values="len")
    )
    labels = days["day"].unique().sort()
    table = labels.to_frame().join(counts, on="day", how="left").fill_null(0)
    series = {c: [float(v) for v in table[c].to_list()] for c in table.columns if c != "day"}
    return stacked_bars("Moves per day by motion", labels.to_list(), series, markers)


def _capacity_chart(logged: pl.DataFrame, playbook: Playbook) -> str:
    limits = {t: c.per_day for t, c in playbook.capacity.teams.items() if c.per_day}
    teams = {n: a.team for n, a in playbook.actions.items() if a.team in limits}
    title = "Capacity used per day (share of each team's daily places)"
    if logged.height == 0 or not teams:
        return line_chart(title, [], {})
    days = _days(logged.filter(pl.col("action").is_in(list(teams))))
    labels = _days(logged)["day"].unique().sort()
    used = (
        days.with_columns(team=pl.col("action").replace_strict(teams)).group_by("day", "team").len()
    )
    series: dict[str, list[float | None]] = {}
    for team, limit in sorted(limits.items()):
        per_day = dict(used.filter(pl.col("team") == team).select("day", "len").iter_rows())
        series[team] = [per_day.get(day, 0) / limit for day in labels.to_list()]
    return line_chart(title, labels.to_list(), series)


def _conversion_chart(
    logged: pl.DataFrame,
    outcomes: pl.DataFrame,
    as_of: datetime,
    settings: MonitorSettings,
    markers: list[Marker],
) -> str:
    title = f"Conversion of moves within {settings.conversion_days} days, by motion"
    if logged.height == 0:
        return line_chart(title, [], {})
    daily = daily_conversions(logged, outcomes, as_of, settings.conversion_days)
    first = logged["as_of"].min()
    assert isinstance(first, datetime)
    span = (as_of.date() - first.date()).days + 1
    labels = [(first.date() + timedelta(days=d)).isoformat() for d in range(span)]
    series: dict[str, list[float | None]] = {}
    for (motion,), part in daily.group_by("motion", maintain_order=True):
        rate = {
            d.isoformat(): c / m
            for d, m, c in part.select("day", "moves", "conversions").iter_rows()
            if m
        }
        series[str(motion)] = [rate.get(label) for label in labels]
    return line_chart(title, labels, series, markers)


# --------------------------------------------------------------------------- html


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["money"] = lambda value: f"{value:,.0f}"
    environment.filters["rate"] = lambda value: f"{value:.2%}"
    environment.filters["json"] = lambda value: json.dumps(value, indent=1, default=str)
    return environment


def _table(impact: ImpactReport, metric: Metric) -> list[LiftRow]:
    return [r for r in impact.rows if r.metric == metric and r.dimension != "week"]


def render_report(data: ReportData) -> str:
    """Return the report as one HTML document."""
    template = _environment().get_template("measurement.html.j2")
    return template.render(
        data=data,
        revenue=_table(data.impact, Metric.REVENUE),
        others=[r for m in Metric if m != Metric.REVENUE for r in _table(data.impact, m)
                if r.dimension == "all"],
        overall=data.impact.row(),
    )  # fmt: skip
