"""Use cases of the measurement part: impact against the holdout, drift, evaluation.

Each reads the store once (in one transaction) and hands frames to the pure modules; none
writes. The Engine opens the exceptions and demotions a drift calls for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from sqlalchemy import Engine

from nextmove.decisions.context import ContextInputs
from nextmove.foundation.service import record_frames
from nextmove.measurement.attribution import decision_rewards
from nextmove.measurement.engagement import (
    EngagementContext,
    daily_engagement,
    engagement_alarms,
    engagement_signals,
)
from nextmove.measurement.impact import account_outcomes, candidate_moves, lift_by, lift_over_time
from nextmove.measurement.input_drift import (
    FEATURE_RECORDS,
    KEY,
    feature_alarm,
    feature_shifts,
    feature_snapshot,
    feature_sources,
    reference_time,
    sample_accounts,
)
from nextmove.measurement.model import DriftAlarm, ImpactReport, LiftRow, Metric, PolicyEvaluation
from nextmove.measurement.monitoring import (
    MonitorSettings,
    calibration_alarm,
    conversion_alarms,
    daily_conversions,
    input_alarms,
)
from nextmove.measurement.offpolicy import off_policy
from nextmove.measurement.replay import replay_decisions
from nextmove.measurement.repository import MeasurementRepository
from nextmove.playbook.model import Playbook, SignalKind
from nextmove.store import UnitOfWork

__all__ = [
    "DIMENSIONS",
    "candidate_decisions",
    "detect_drift",
    "evaluate",
    "impact",
    "weekly_ends",
]

NO_ACTION = "no_action"
DIMENSIONS = ("segment", "motion", "product")
_KINDS = ("accounts", "contacts", "products", "holdings", "opportunities", "signals", "outcomes")


def impact(
    *,
    engine: Engine,
    playbook: Playbook,
    until: datetime,
    since: datetime | None = None,
    metrics: Sequence[Metric] = tuple(Metric),
    dimensions: Sequence[str] = DIMENSIONS,
    confidence: float = 0.95,
    bootstrap: int = 0,
) -> ImpactReport:
    """Return the lift of the decisions made in ``[since, until)`` over the holdout.

    Outcomes count up to ``until``. Rows: every metric overall, by each of ``dimensions``,
    and revenue cumulatively at the end of each week.
    """
    with UnitOfWork(engine) as uow:
        repository = MeasurementRepository(uow.connection)
        logged = repository.logged(since=since, until=until)
        if logged.height == 0:
            start = since or until
            return ImpactReport(start, until, playbook.measurement.attribution_days, (), 0.0, 0, 0)
        outcomes = repository.outcomes(since=logged["as_of"].min())  # type: ignore[arg-type]
        segments = repository.segments()
    decisions = _with_groups(logged, segments)
    table = account_outcomes(
        decisions, outcomes, metrics, until=until, groups=("segment", "motion", "product")
    )
    rows: list[LiftRow] = []
    for metric in metrics:
        rows += lift_by(table, metric, confidence=confidence, bootstrap=bootstrap)
        for dimension in dimensions:
            rows += lift_by(table, metric, dimension, confidence=confidence, bootstrap=bootstrap)
    first = logged["as_of"].min()
    assert isinstance(first, datetime)
    rows += lift_over_time(
        decisions, outcomes, Metric.REVENUE, weekly_ends(first, until), confidence=confidence
    )
    treated = int((~table["holdout"]).sum())
    return ImpactReport(
        since=since or first,
        until=until,
        attribution_days=playbook.measurement.attribution_days,
        rows=tuple(rows),
        predicted=_predicted(logged, playbook, treated),
        accounts=table.height,
        decisions=logged.height,
    )


def weekly_ends(first: datetime, until: datetime) -> list[datetime]:
    """Every seventh day after ``first`` before ``until``, then ``until``."""
    ends, end = [], first + timedelta(days=7)
    while end < until:
        ends.append(end)
        end += timedelta(days=7)
    return [*ends, until]


def _with_groups(logged: pl.DataFrame, segments: pl.DataFrame) -> pl.DataFrame:
    moves = candidate_moves(logged).rename({"candidate_product": "product"})
    return moves.join(segments, on="account_id", how="left")


def _predicted(logged: pl.DataFrame, playbook: Playbook, treated: int) -> float:
    """Revenue the acting decisions expected to bring (value before the motion's cost),
    per treated account."""
    if treated == 0:
        return 0.0
    costs = {name: action.cost for name, action in playbook.actions.items()}
    acting = logged.filter((pl.col("action") != NO_ACTION) & ~pl.col("holdout"))
    gross = acting["expected_value"] + acting["action"].replace_strict(
        costs, default=0.0, return_dtype=pl.Float64
    )
    return float(gross.sum()) / treated


def detect_drift(
    *, engine: Engine, playbook: Playbook, as_of: datetime, settings: MonitorSettings
) -> tuple[list[DriftAlarm], tuple[str, ...]]:
    """Return the alarms raised as of ``as_of`` and what was monitored."""
    since = as_of - timedelta(days=settings.lookback_days)
    kinds = settings.engagement_types or _declared_counts(playbook)
    with UnitOfWork(engine) as uow:
        repository = MeasurementRepository(uow.connection)
        logged = repository.logged(since=since, until=as_of)
        outcomes = repository.outcomes(since=since)
        signals = repository.signal_types(since=since, until=as_of)
        events = repository.signal_events(
            since=since - timedelta(days=settings.engagement_days), until=as_of, types=kinds
        )
    alarms: list[DriftAlarm] = []
    monitored: list[str] = ["input:signal_mix"]
    if logged.height:
        daily = daily_conversions(logged, outcomes, as_of, settings.conversion_days)
        monitored += [f"conversion:{m}" for m in daily["motion"].unique().sort().to_list()]
        priors = {
            name: action.prior_uplift
            for name, action in playbook.actions.items()
            if action.prior_uplift is not None
        }
        alarms += conversion_alarms(daily, settings, priors)
    alarms += input_alarms(signals, as_of, settings)
    judged, found = _feature_alarm(engine=engine, playbook=playbook, as_of=as_of, settings=settings)
    monitored += [KEY] if judged else []
    alarms += [found] if found else []
    if logged.height:
        report = impact(
            engine=engine, playbook=playbook, until=as_of, since=since,
            metrics=(Metric.REVENUE,), dimensions=("motion",),
        )  # fmt: skip
        monitored.append("calibration:revenue")
        found = calibration_alarm(report.row(), report.predicted, as_of)
        alarms += [found] if found else []
        engaged = daily_engagement(_touches(logged), events, kinds, as_of, settings.engagement_days)
        monitored += [f"engagement:{m}:{k}" for m, k in engagement_signals(engaged, settings)]
        context = EngagementContext(
            channels={name: action.channel.value for name, action in playbook.actions.items()},
            priors=priors,
            lift_by_motion=tuple(r for r in report.rows if r.dimension == "motion"),
            costs={name: action.cost for name, action in playbook.actions.items()},
        )
        alarms += engagement_alarms(engaged, settings, context)
    return alarms, tuple(monitored)


def _feature_alarm(
    *, engine: Engine, playbook: Playbook, as_of: datetime, settings: MonitorSettings
) -> tuple[bool, DriftAlarm | None]:
    """Whether the model's inputs could be judged, and the alarm when they drifted (see
    :mod:`nextmove.measurement.input_drift`)."""
    with UnitOfWork(engine) as uow:
        repository = MeasurementRepository(uow.connection)
        account_ids = repository.account_ids()
        model = repository.active_model()
        reference = reference_time(
            as_of=as_of,
            lookback_start=as_of - timedelta(days=settings.lookback_days),
            trained_as_of=repository.active_model_as_of(),
            first_signal_at=repository.first_signal_at(),
            warmup_days=settings.feature_warmup_days,
        )
    if reference is None or len(account_ids) < settings.min_feature_accounts:
        return False, None
    sample = sample_accounts(account_ids, settings.feature_sample, settings.sample_seed)
    frames = record_frames(engine=engine, kinds=FEATURE_RECORDS, account_ids=sample.to_list())
    inputs = ContextInputs(**frames)
    # The stored model reads the inputs it was fitted on; the prior reads the playbook's.
    watched = set(model["feature_names"]) if model and "feature_names" in model else None
    before, now = (
        feature_snapshot(inputs, playbook, at, watched=watched) for at in (reference.as_of, as_of)
    )
    if min(before.accounts, now.accounts) < settings.min_feature_accounts:
        return False, None
    catalog = frames["products"]["product_id"].sort().to_list()
    products = model["product_ids"] if model and "product_ids" in model else catalog
    shifts = feature_shifts(before, now, products=products, bins=settings.feature_bins)
    accounts = {"reference": before.accounts, "recent": now.accounts, "stored": len(account_ids)}
    return True, feature_alarm(
        shifts, reference=reference, as_of=as_of, accounts=accounts,
        sources=feature_sources(playbook), settings=settings,
    )  # fmt: skip


def _declared_counts(playbook: Playbook) -> tuple[str, ...]:
    """The stored types of the playbook's count signals."""
    return tuple(
        sorted(
            {
                declared.type or name
                for name, declared in playbook.signals.items()
                if declared.kind is SignalKind.COUNT
            }
        )
    )


def _touches(logged: pl.DataFrame) -> pl.DataFrame:
    """The logged moves sent on their own or put to a person to approve (a recommendation
    may never be acted on): account_id, motion, as_of."""
    return logged.filter(
        (pl.col("action") != NO_ACTION)
        & ~pl.col("holdout")
        & pl.col("autonomy").is_in(["auto", "approve"])
    ).select("account_id", pl.col("action").alias("motion"), "as_of")


def evaluate(
    *,
    engine: Engine,
    candidate: Playbook,
    name: str,
    as_of: datetime,
    runs: int = 14,
    reward_days: int | None = None,
    confidence: float = 0.95,
) -> PolicyEvaluation:
    """Estimate what ``candidate`` would have brought per decision on the newest ``runs``
    logged runs whose reward window (``reward_days``, default the playbook's attribution
    days) closed by ``as_of``.

    A decision's reward is the value of its account's purchases and won opportunities in
    its window, minus its motion's cost; the candidate matches a logged decision when it
    chooses the same action. The estimates are of the candidate's *incremental* value per
    decision: its value minus that of doing nothing for every account.
    """
    window = timedelta(days=reward_days or candidate.measurement.attribution_days)
    with UnitOfWork(engine) as uow:
        repository = MeasurementRepository(uow.connection)
        logged = repository.logged(until=as_of - window + timedelta(microseconds=1))
        if logged.height:
            newest = logged["run_id"].unique().sort().tail(runs)
            logged = logged.filter(pl.col("run_id").is_in(newest.implode()))
        outcomes = repository.outcomes()
    if logged.height == 0:
        return PolicyEvaluation(name, 0, 0, 0.0, ())
    targets = candidate_decisions(engine=engine, candidate=candidate, logged=logged, as_of=as_of)
    joined = logged.join(targets, on=["run_id", "account_id"], how="left").with_columns(
        pl.col("target_action").fill_null(NO_ACTION)
    )
    costs = {name: action.cost for name, action in candidate.actions.items()}
    rewards = decision_rewards(joined, outcomes, window, costs)
    chosen = set(joined["action"].to_list()) | set(joined["target_action"].to_list())
    names = sorted(chosen | {NO_ACTION})
    index = {action: i for i, action in enumerate(names)}
    logged_index = np.array([index[a] for a in joined["action"].to_list()], dtype=np.int64)
    target_index = np.array([index[a] for a in joined["target_action"].to_list()], dtype=np.int64)
    target = np.eye(len(names))[target_index]
    propensity = np.clip(joined["propensity"].to_numpy().astype(np.float64), 1e-6, 1.0)
    estimates = off_policy(
        rewards, propensity, logged_index, target, baseline=index[NO_ACTION], confidence=confidence
    )
    mix = joined["target_action"].value_counts().sort("target_action")
    return PolicyEvaluation(
        name=name,
        decisions=joined.height,
        matched=int((logged_index == target_index).sum()),
        logged_value=float(np.mean(rewards)),
        estimates=tuple(estimates),
        by_action=dict(zip(mix["target_action"].to_list(), mix["count"].to_list(), strict=True)),
    )


def candidate_decisions(
    *, engine: Engine, candidate: Playbook, logged: pl.DataFrame, as_of: datetime
) -> pl.DataFrame:
    """Return what ``candidate`` would have decided for each logged decision: run_id,
    account_id, target_action, target_product (see :mod:`nextmove.measurement.replay`)."""
    with UnitOfWork(engine) as uow:
        repository = MeasurementRepository(uow.connection)
        touches = repository.touches(until=as_of)
        stored_model = repository.active_model()
    accounts = logged["account_id"].unique().to_list()
    frames = record_frames(engine=engine, kinds=_KINDS, account_ids=accounts)
    return replay_decisions(logged, frames, touches, candidate, stored_model)
