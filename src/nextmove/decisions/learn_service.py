"""Use cases of learning: fit the response model, gate it against the champion, keep the
model registry, and run the champion/challenger test.

:func:`learn` (as of a time) does four things in order:

1. *Review the live challenger* (:func:`review_challenger`): its accounts and the
   champion's were drawn at random, so what each group bought since the challenger went
   live, minus what its moves cost, is a randomised comparison. The challenger is
   promoted when it brought more per account with 95% confidence, retired when it brought
   less with confidence or stayed undecided for the playbook's ``challenger_days``.
2. *Fit* the response model on every decision logged before ``as_of``: each decision's
   account is replayed as of its decision time (the context then), so nothing learned
   leaks from later data; the outcome is a purchase (or won opportunity) of the product
   within the attribution window, cut at ``as_of``.
3. *Gate* it (:mod:`nextmove.learning.gate`): the same fit, made as of ``as_of`` minus the
   playbook's ``validation_days`` (a probe that never saw the newest days, nor what
   followed them), is compared with the champion on the decisions of those days. The
   gate judges the fitting procedure on days it held out; the model registered is the same
   procedure fitted on everything. While the probe would learn from less than half the
   decisions the new model learns from (the first weeks), there is no fair comparison
   and the gate says nothing. A champion trained after the held-out days began has seen
   some of them: the comparison then favours the champion, never the new model. Besides
   predictions, the gate compares *decisions*: both models decide the held-out runs again
   (:func:`nextmove.measurement.replay.replay_models`) and what the probe's would have
   brought against the champion's is estimated off-policy from the logged propensities.
   The held-out days also measure each motion's *uplift calibration*
   (:mod:`nextmove.learning.calibration`): the share of the probe's predicted uplift that
   came true on them. With the playbook's ``measurement.calibrate_uplift`` it scales the
   new model's uplift (a model that overstates marginal moves then values them as they
   turned out), and the gate judges the probe with factors learned on the other half of
   the held-out accounts.
4. *Register* it: ``rejected`` when it predicts worse, is miscalibrated where the
   champion is not, or its decisions would have brought less; ``champion`` when it
   predicts or decides better with confidence, or is not worse (newer data wins) unless
   the playbook gives challengers a share: then a refit that is not better with
   confidence becomes the ``challenger`` (or, while one is live, a ``candidate`` that
   serves nobody; a person may promote it). During the warm-up,
   while the gate has nothing fair to say, each refit becomes champion: it is the same
   procedure on every decision the champion learned from and the newer ones.

Every change of status is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from sqlalchemy import Engine

from nextmove.decisions.candidates import Catalog, catalog_of
from nextmove.decisions.repository import DecisionRepository
from nextmove.decisions.service import model_for
from nextmove.decisions.training_rows import RECORD_KINDS, samples, stacked, training_rows
from nextmove.domain import SALE_OUTCOMES
from nextmove.errors import GovernanceError, NotFound
from nextmove.foundation.service import record_frames
from nextmove.governance.model import Actor
from nextmove.governance.service import record_audit
from nextmove.learning.calibration import uplift_factors
from nextmove.learning.features import feature_names
from nextmove.learning.gate import GateResult, PolicyValue, Verdict, compare_models
from nextmove.learning.model import ChallengerReview, LearnReport, ModelRecord, ModelStatus
from nextmove.learning.response import ResponseModel, TrainingRows, fit_response_model, prior_model
from nextmove.learning.stats import clustered_mean
from nextmove.measurement.attribution import decision_rewards
from nextmove.measurement.input_drift import sample_accounts
from nextmove.measurement.lift import difference_in_means
from nextmove.measurement.offpolicy import dr_difference_terms
from nextmove.measurement.replay import replay_models
from nextmove.playbook.model import Playbook
from nextmove.store import UnitOfWork

__all__ = ["learn", "model_records", "review_challenger", "set_status"]

Floats = npt.NDArray[np.float64]
MIN_ARM_ACCOUNTS = 30
"""Fewer accounts than this in either group of a champion/challenger test decide nothing."""
MAX_VALUE_ACCOUNTS = 20_000
"""The gate replays the held-out decisions of at most this many accounts (a stable sample)."""
MIN_PROBE_SHARE = 0.5
"""The probe must learn from at least this share of the decisions the new model learns
from, or the gate has nothing fair to say (the first weeks of history)."""


_NO_GATE = (
    "no fair held-out comparison yet: too little history before the held-out days "
    "(or no decisions in them)"
)


@dataclass(frozen=True)
class _Fit:
    """A fitted model and what it learned from."""

    model: ResponseModel
    prior: ResponseModel
    catalog: Catalog
    decisions: int
    """Logged decisions before ``as_of`` (the rows learned from are a sample of them)."""
    data_from: datetime | None
    held_out: TrainingRows | None
    """Rows of the decisions on or after the held-out cut (labels up to ``as_of``)."""
    logged: pl.DataFrame
    """The logged decisions it learned from (the probe's are those before the cut)."""


def learn(
    *,
    engine: Engine,
    actor: Actor,
    playbook: Playbook,
    playbook_version: int | None,
    as_of: datetime,
    now: datetime,
    seed: int = 0,
) -> LearnReport:
    """Review the live challenger, fit a model on the decisions logged before ``as_of``,
    gate it against the champion and register it (see the module docstring)."""
    review = review_challenger(
        engine=engine, actor=actor, playbook=playbook, playbook_version=playbook_version,
        as_of=as_of, now=now,
    )  # fmt: skip
    cut = as_of - timedelta(days=playbook.measurement.validation_days)
    with UnitOfWork(engine) as uow:
        logged = DecisionRepository(uow.connection).logged(until=as_of)
    fitted = _fit(engine, playbook, logged, as_of, seed, held_out_from=cut)
    model = fitted.model
    base = LearnReport(
        model.version, model.rows, fitted.decisions, model.learned, model.metrics, review=review
    )
    with UnitOfWork(engine) as uow:
        repository = DecisionRepository(uow.connection)
        champion_params = repository.active_model()
        live = repository.challenger_model()
    champion_version = _version_of(champion_params)
    if not model.learned:
        return replace(base, champion=champion_version, challenger=live and live[0])
    champion = model_for(champion_params, playbook, fitted.catalog)
    calibrate = playbook.measurement.calibrate_uplift
    judged = _held_out(
        engine, playbook, cut, seed, champion, fitted, calibrate=calibrate, as_of=as_of
    )
    gate = judged.gate
    if judged.factors and calibrate:
        metrics = {
            **model.metrics,
            **{f"{a}.uplift_factor": f for a, f in zip(model.actions, judged.factors, strict=True)},
        }
        model = replace(model, uplift_scale=judged.factors, metrics=metrics)
        base = replace(base, model_version=model.version, metrics=model.metrics)
    with UnitOfWork(engine) as uow:
        known = DecisionRepository(uow.connection).model_records(version=model.version)
    if known:
        return replace(
            base,
            status=known[0].status,
            reasons=("already registered: the same data gave the same model",),
            champion=champion_version,
            challenger=live and live[0],
        )
    status, reasons = _status(
        gate,
        champion_learned=champion.learned,
        challenger_live=live is not None,
        share=playbook.measurement.challenger_share,
    )
    evaluation: dict[str, Any] = {
        "reasons": list(reasons),
        "gate": None if gate is None else gate.to_dict(),
        "held_out_from": cut.isoformat(),
        "uplift_factors": dict(zip(model.actions, judged.factors, strict=True))
        if judged.factors
        else None,
        "uplift_calibrated": bool(judged.factors) and calibrate,
        "champion": champion_version,
    }
    with UnitOfWork(engine) as uow:
        DecisionRepository(uow.connection).save_model(
            version=model.version,
            trained_at=now,
            data_from=fitted.data_from,
            as_of=as_of,
            rows=model.rows,
            params=model.to_dict(),
            metrics=model.metrics,
            status=status,
            evaluation=evaluation,
        )
        record_audit(
            uow,
            actor=actor,
            action="model.register",
            subject=f"model:{model.version}",
            details={"status": status.value, "reasons": list(reasons), "as_of": as_of.isoformat()},
            occurred_at=now,
            playbook_version=playbook_version,
        )
        uow.commit()
    promoted = status is ModelStatus.CHAMPION
    return replace(
        base,
        status=status,
        reasons=reasons,
        champion=model.version if promoted else champion_version,
        challenger=model.version if status is ModelStatus.CHALLENGER else (live and live[0]),
        evaluation=evaluation,
    )


def _version_of(params: Mapping[str, Any] | None) -> str | None:
    return None if params is None else ResponseModel.from_dict(params).version


def _status(
    gate: GateResult | None, *, champion_learned: bool, challenger_live: bool, share: float
) -> tuple[ModelStatus, tuple[str, ...]]:
    """The registry status the gate's verdict gives a new model."""
    if gate is not None and gate.verdict is Verdict.REJECT:
        return ModelStatus.REJECTED, gate.reasons
    if gate is not None and gate.verdict is Verdict.PROMOTE:
        return ModelStatus.CHAMPION, gate.reasons
    if gate is None:
        # Warm-up: the same procedure on every decision the champion learned from and more.
        why = "promoted: it learned from every decision the champion did, and the newer ones"
        if not champion_learned:
            why = "the first model learned (the playbook's priors decided until now)"
        return ModelStatus.CHAMPION, (why, _NO_GATE)
    found = gate.reasons
    if not champion_learned:
        first = "the first model learned (the playbook's priors decided until now)"
        return ModelStatus.CHAMPION, (first, *found)
    if share > 0 and not challenger_live:
        return ModelStatus.CHALLENGER, (*found, f"challenger for {share:.0%} of accounts")
    if share > 0:
        return ModelStatus.CANDIDATE, (*found, "a challenger is already live")
    newer = "promoted: not worse on the held-out days, and it learned from newer data"
    return ModelStatus.CHAMPION, (newer, *found)


@dataclass(frozen=True)
class _HeldOut:
    """What the held-out days said: the gate's verdict and the uplift factors to serve with."""

    gate: GateResult | None
    factors: tuple[float, ...] = ()


def _held_out(
    engine: Engine,
    playbook: Playbook,
    cut: datetime,
    seed: int,
    champion: ResponseModel,
    fitted: _Fit,
    *,
    calibrate: bool,
    as_of: datetime,
) -> _HeldOut:
    """Fit as of ``cut`` (the probe) and judge it on the held-out rows against the champion.

    The probe's uplift factors on the held-out rows (:mod:`nextmove.learning.calibration`)
    are measured either way. When ``calibrate``, the new model serves with them, and the
    gate judges the probe as it would serve: each half of the accounts with factors
    learned on the other half.
    """
    held = fitted.held_out
    if held is None or len(held.bought) == 0:
        return _HeldOut(None)
    logged = fitted.logged.filter(pl.col("as_of") < cut) if fitted.logged.height else fitted.logged
    probe = _fit(engine, playbook, logged, cut, seed)
    if probe.decisions < MIN_PROBE_SHARE * fitted.decisions or not probe.model.learned:
        # Too little before the held-out days: the probe would judge a far weaker fit.
        return _HeldOut(None)
    assert held.exposure is not None and held.group is not None
    base, uplift = probe.model.predict_parts(held)
    actions = len(probe.model.actions)
    factors = uplift_factors(
        base, uplift, held.bought, exposure=held.exposure, motion=held.motion, actions=actions
    )
    served = _cross_calibrated(base, uplift, held, actions) if calibrate else None
    serving = replace(probe.model, uplift_scale=factors) if calibrate and factors else probe.model
    value = _policy_value(engine, playbook, fitted.logged, (cut, as_of), serving, champion, seed)
    gate = compare_models(
        probe.model.predict_rows(held) if served is None else served,
        champion.predict_rows(held),
        held.bought,
        exposure=held.exposure,
        motion=held.motion,
        groups=held.group,
        actions=champion.actions,
        value=value,
    )
    return _HeldOut(gate, factors)


def _policy_value(
    engine: Engine,
    playbook: Playbook,
    logged: pl.DataFrame,
    days: tuple[datetime, datetime],
    candidate: ResponseModel,
    champion: ResponseModel,
    seed: int,
) -> PolicyValue | None:
    """What the candidate's decisions would have brought on the held-out days against the
    champion's (off-policy, doubly robust; None without held-out decisions).

    Both models decide each held-out run again on the context of its time (the holdout
    left out: it never acts). A decision's reward is what its account bought in the
    attribution window (cut at ``as_of``, the second of ``days``) minus its logged move's
    cost. Past
    :data:`MAX_VALUE_ACCOUNTS` a stable sample of accounts is replayed, with the
    capacities scaled to it.
    """
    cut, as_of = days
    if logged.height == 0:
        return None
    held = logged.filter((pl.col("as_of") >= cut) & ~pl.col("holdout"))
    if held.height == 0:
        return None
    everyone = held["account_id"].unique()
    accounts = sample_accounts(everyone, MAX_VALUE_ACCOUNTS, seed)
    if len(accounts) < len(everyone):
        held = held.filter(pl.col("account_id").is_in(accounts.implode()))
    ids = accounts.to_list()
    with UnitOfWork(engine) as uow:
        touches = DecisionRepository(uow.connection).touches(ids)
    frames = record_frames(engine=engine, kinds=RECORD_KINDS, account_ids=ids)
    chosen = replay_models(
        held, frames, touches, playbook, {"candidate": candidate, "champion": champion},
        capacity_share=len(accounts) / len(everyone),
    )  # fmt: skip
    joined = held.join(chosen, on=["run_id", "account_id"], how="left").with_columns(
        pl.col("candidate_action", "champion_action").fill_null("no_action")
    )
    window = timedelta(days=playbook.measurement.attribution_days)
    costs = {name: action.cost for name, action in playbook.actions.items()}
    rewards = decision_rewards(
        joined, frames["outcomes"], window, costs, until=as_of + timedelta(microseconds=1)
    )
    names = sorted({"no_action", *playbook.actions})
    index = {name: i for i, name in enumerate(names)}

    def indexed(column: str) -> npt.NDArray[np.int64]:
        return joined[column].replace_strict(index, default=0, return_dtype=pl.Int64).to_numpy()

    logged_action, first, second = (
        indexed(c) for c in ("action", "candidate_action", "champion_action")
    )
    propensity = np.clip(joined["propensity"].to_numpy().astype(np.float64), 1e-6, 1.0)
    terms = dr_difference_terms(rewards, propensity, logged_action, first, second, len(names))
    differ = first != second
    groups = joined["account_id"].rank("dense").to_numpy().astype(np.int64)
    return PolicyValue(
        decisions=joined.height,
        differing=int(differ.sum()),
        candidate_logged=int((differ & (logged_action == first)).sum()),
        champion_logged=int((differ & (logged_action == second)).sum()),
        difference=clustered_mean(terms, groups),
    )


def _cross_calibrated(base: Floats, uplift: Floats, held: TrainingRows, actions: int) -> Floats:
    """P(buy) per row with uplift factors learned on the other half of the accounts."""
    assert held.exposure is not None and held.group is not None
    first = held.group % 2 == 0
    predicted = np.empty(len(base))
    for fit_on in (first, ~first):
        factors = uplift_factors(
            base[fit_on], uplift[fit_on], held.bought[fit_on],
            exposure=held.exposure[fit_on], motion=held.motion[fit_on], actions=actions,
        )  # fmt: skip
        scales = np.array([*factors, 0.0])  # index -1 (no move): no uplift
        other = ~fit_on
        predicted[other] = base[other] + scales[held.motion[other]] * uplift[other]
    clipped: Floats = np.clip(predicted, 1e-6, 1.0 - 1e-6)
    return clipped


def _fit(
    engine: Engine,
    playbook: Playbook,
    logged: pl.DataFrame,
    as_of: datetime,
    seed: int,
    *,
    held_out_from: datetime | None = None,
) -> _Fit:
    """Fit on ``logged`` (the decisions logged before ``as_of``); keep the rows of those
    made on or after ``held_out_from`` apart too."""
    with UnitOfWork(engine) as uow:
        repository = DecisionRepository(uow.connection)
        sample, newest = samples(logged, seed, held_out_from)
        both = sample if newest is None else pl.concat([sample, newest], how="diagonal_relaxed")
        accounts = both["account_id"].unique().to_list()
        touches = repository.touches(accounts or [""])
    actions = tuple(name for name in playbook.actions if name != "no_action")
    frames = record_frames(engine=engine, kinds=RECORD_KINDS, account_ids=accounts or [""])
    catalog = catalog_of(frames["products"])
    prior = prior_model(playbook, feature_names(playbook), catalog.product_ids, actions)
    groups: dict[str, int] = {}
    held_out = None
    rows = training_rows(sample, frames, touches, playbook, catalog, actions, as_of, groups)
    if newest is not None:
        held_out = training_rows(newest, frames, touches, playbook, catalog, actions, as_of, groups)
        rows = stacked([rows, held_out], len(prior.feature_names))
    model = fit_response_model(prior, rows, seed=seed)
    first = both["as_of"].min() if both.height else None
    return _Fit(
        model=model,
        prior=prior,
        catalog=catalog,
        decisions=logged.height,
        logged=logged,
        data_from=first if isinstance(first, datetime) else None,
        held_out=held_out,
    )


# --- the champion/challenger test ----------------------------------------------------------


def review_challenger(
    *,
    engine: Engine,
    actor: Actor,
    playbook: Playbook,
    playbook_version: int | None,
    as_of: datetime,
    now: datetime,
) -> ChallengerReview | None:
    """Judge the live challenger on its own accounts against the champion's; promote it,
    retire it or let it continue (None: no challenger is live)."""
    with UnitOfWork(engine) as uow:
        repository = DecisionRepository(uow.connection)
        live = repository.model_records(status=ModelStatus.CHALLENGER)
        champions = repository.model_records(status=ModelStatus.CHAMPION)
        if not live:
            return None
        record = live[0]
        logged = repository.logged(until=as_of)
    logged = _challenger_runs(logged, record.version)
    first = logged["as_of"].min() if logged.height else None
    started = first if isinstance(first, datetime) else as_of  # decision time, not wall time
    logged = logged.filter(~pl.col("holdout")) if logged.height else logged
    champion = champions[0].version if champions else "priors"
    values = _account_values(engine, playbook, logged, record.version, as_of)
    review = _judge(record, champion, values, started, as_of, playbook.measurement.challenger_days)
    if review.outcome == "continues":
        status = ModelStatus.CHALLENGER
    else:
        status = ModelStatus.CHAMPION if review.outcome == "promoted" else ModelStatus.RETIRED
    evaluation = {**record.evaluation, "review": review.to_dict()}
    with UnitOfWork(engine) as uow:
        repository = DecisionRepository(uow.connection)
        at = record.status_at if status is ModelStatus.CHALLENGER else now
        repository.set_model_status(record.version, status, at=at or now, evaluation=evaluation)
        if status is not ModelStatus.CHALLENGER:
            record_audit(
                uow,
                actor=actor,
                action="model.promote" if status is ModelStatus.CHAMPION else "model.retire",
                subject=f"model:{record.version}",
                details={"reason": review.reason, "review": review.to_dict()},
                occurred_at=now,
                playbook_version=playbook_version,
            )
        uow.commit()
    return review


def _challenger_runs(logged: pl.DataFrame, challenger: str) -> pl.DataFrame:
    """The decisions of the runs where ``challenger`` decided beside another model (a
    model that was champion before has runs of its own, which are no test)."""
    if logged.height == 0:
        return logged
    ours = pl.col("model_version") == challenger
    runs = logged.group_by("run_id").agg(ours.any().alias("ours"), (~ours).any().alias("other"))
    tested = runs.filter(pl.col("ours") & pl.col("other"))["run_id"]
    return logged.filter(pl.col("run_id").is_in(tested.implode()))


def _account_values(
    engine: Engine, playbook: Playbook, logged: pl.DataFrame, challenger: str, as_of: datetime
) -> pl.DataFrame:
    """Per account decided since the challenger went live: its group and its value — what
    it bought after its first decision, up to ``as_of``, minus what its moves cost."""
    schema = {"account_id": pl.String, "challenger": pl.Boolean, "value": pl.Float64}
    if logged.height == 0:
        return pl.DataFrame(schema=schema)
    costs = {name: action.cost for name, action in playbook.actions.items()}
    accounts = logged.group_by("account_id").agg(
        challenger=(pl.col("model_version") == challenger).any(),
        first=pl.col("as_of").min(),
        cost=pl.col("action").replace_strict(costs, default=0.0, return_dtype=pl.Float64).sum(),
    )
    ids = accounts["account_id"].to_list()
    outcomes = record_frames(engine=engine, kinds=("outcomes",), account_ids=ids)["outcomes"]
    revenue = (
        outcomes.filter(
            pl.col("outcome_type").is_in(SALE_OUTCOMES) & (pl.col("occurred_at") <= as_of)
        )
        .join(accounts.select("account_id", "first"), on="account_id")
        .filter(pl.col("occurred_at") > pl.col("first"))
        .group_by("account_id")
        .agg(revenue=pl.col("value").fill_null(0.0).sum())
    )
    return (
        accounts.join(revenue, on="account_id", how="left")
        .select(
            "account_id",
            "challenger",
            value=pl.col("revenue").fill_null(0.0) - pl.col("cost"),
        )
        .cast(schema)  # type: ignore[arg-type]
    )


def _judge(
    record: ModelRecord,
    champion: str,
    values: pl.DataFrame,
    started: datetime,
    as_of: datetime,
    max_days: int,
) -> ChallengerReview:
    ours = values.filter("challenger")["value"].to_numpy()
    theirs = values.filter(~pl.col("challenger"))["value"].to_numpy()
    found = difference_in_means(ours, theirs)
    difference, low, high = found.value, found.low, found.high
    days = (as_of - started) / timedelta(days=1)
    if min(len(ours), len(theirs)) < MIN_ARM_ACCOUNTS:
        outcome, reason = (
            "continues",
            (
                f"too few accounts to compare yet ({len(ours)} with the challenger, "
                f"{len(theirs)} with the champion; {MIN_ARM_ACCOUNTS} each needed)"
            ),
        )
    elif low > 0:
        outcome, reason = (
            "promoted",
            "brought more per account than the champion with 95% confidence",
        )
    elif high < 0:
        outcome, reason = (
            "retired",
            "brought less per account than the champion with 95% confidence",
        )
    else:
        outcome, reason = "continues", "neither better nor worse with confidence yet"
    if outcome == "continues" and days >= max_days:
        outcome, reason = "retired", f"undecided after {days:.0f} days ({reason})"
    return ChallengerReview(
        challenger=record.version,
        champion=champion,
        outcome=outcome,
        reason=reason,
        accounts_challenger=len(ours),
        accounts_champion=len(theirs),
        value_challenger=float(ours.mean()) if len(ours) else float("nan"),
        value_champion=float(theirs.mean()) if len(theirs) else float("nan"),
        difference=difference,
        low=low,
        high=high,
    )


# --- the registry ---------------------------------------------------------------------------


def model_records(
    *, engine: Engine, version: str | None = None, status: ModelStatus | None = None
) -> list[ModelRecord]:
    """The registry, newest first (one version, or of one status)."""
    with UnitOfWork(engine) as uow:
        return DecisionRepository(uow.connection).model_records(version=version, status=status)


def set_status(
    *,
    engine: Engine,
    actor: Actor,
    version: str,
    status: ModelStatus,
    reason: str,
    now: datetime,
    playbook_version: int | None,
) -> ModelRecord:
    """A person promotes a model to champion, makes it the challenger, or retires it."""
    if status not in (ModelStatus.CHAMPION, ModelStatus.CHALLENGER, ModelStatus.RETIRED):
        raise GovernanceError(f"a model can be made champion, challenger or retired, not {status}")
    if not reason.strip():
        raise GovernanceError("a reason is required to change a model's status")
    with UnitOfWork(engine) as uow:
        repository = DecisionRepository(uow.connection)
        found = repository.model_records(version=version)
        if not found:
            raise NotFound(f"no model {version!r} is registered")
        record = found[0]
        if status is ModelStatus.CHALLENGER:
            for live in repository.model_records(status=ModelStatus.CHALLENGER):
                if live.version != version:
                    repository.set_model_status(
                        live.version, ModelStatus.RETIRED, at=now, evaluation=live.evaluation
                    )
        evaluation = {**record.evaluation, "set_by": actor.user_id, "set_reason": reason}
        repository.set_model_status(version, status, at=now, evaluation=evaluation)
        record_audit(
            uow,
            actor=actor,
            action=f"model.{status.value}",
            subject=f"model:{version}",
            details={"from": record.status.value, "to": status.value, "reason": reason},
            occurred_at=now,
            playbook_version=playbook_version,
        )
        uow.commit()
        return repository.model_records(version=version)[0]
