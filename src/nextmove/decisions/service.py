"""Use cases of the decisions part: decide (batch or one account) and learn.

Each reads the store once, runs the pure pipeline, and stores what it decided in one
transaction (with the run, and the run's audit entry): a run is stored whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl
from sqlalchemy import Engine

from nextmove.decisions.candidates import Catalog, buyable, catalog_of
from nextmove.decisions.capacity import remaining_capacities
from nextmove.decisions.compiled import PerPlaybook
from nextmove.decisions.context import AccountContext, ContextInputs, build_context
from nextmove.decisions.pipeline import DecisionBatch, decide_accounts
from nextmove.decisions.repository import DecisionRepository
from nextmove.decisions.scoring import Scorer
from nextmove.domain import OutcomeType
from nextmove.errors import NotFound
from nextmove.foundation.service import record_frames
from nextmove.governance.model import Actor, KillSwitch
from nextmove.governance.service import record_audit
from nextmove.learning.features import account_features, feature_names, product_interest
from nextmove.learning.response import (
    ResponseModel,
    TrainingRows,
    fit_response_model,
    prior_model,
)
from nextmove.playbook.model import AutonomyLevel, Playbook
from nextmove.playbook.policy import GuardrailPolicy, guardrail_policy
from nextmove.playbook.semantics import KnownCatalog, context_schema_for
from nextmove.store import UnitOfWork

__all__ = [
    "DecisionRun",
    "LearnReport",
    "StoredHook",
    "decide",
    "learn",
    "model_for",
    "store_batch",
]

_KINDS = ("accounts", "contacts", "products", "holdings", "opportunities", "signals", "outcomes")
_BOUGHT = (OutcomeType.PURCHASE.value, OutcomeType.OPPORTUNITY_WON.value)
_MAX_CONTROL_ROWS = 40_000

StoredHook = Callable[[UnitOfWork, int, pl.DataFrame], None]
"""Called inside the run's transaction with the unit of work, the run id and the stored
acting decisions (with their ids), so the caller can enqueue work that commits with them."""


@dataclass(frozen=True)
class DecisionRun:
    """A stored decision run."""

    run_id: int
    mode: str
    as_of: datetime
    playbook_version: int
    model_version: str
    batch: DecisionBatch

    @property
    def decisions(self) -> pl.DataFrame:
        """One row per account decided."""
        return self.batch.decisions


@dataclass(frozen=True)
class LearnReport:
    """What a learning run fitted."""

    model_version: str
    rows: int
    decisions: int
    learned: bool
    metrics: dict[str, float]


def decide(
    *,
    engine: Engine,
    actor: Actor,
    playbook: Playbook,
    playbook_version: int,
    kill_switches: Iterable[KillSwitch],
    demoted: Mapping[str, AutonomyLevel],
    as_of: datetime,
    now: datetime,
    account_ids: Sequence[str] | None = None,
    scorer: Scorer | None = None,
    on_stored: StoredHook | None = None,
) -> DecisionRun:
    """Decide every account (or ``account_ids``) as of ``as_of`` and store the decisions.

    ``scorer`` replaces the engine's response model (a challenger policy, a baseline);
    ``on_stored`` runs inside the storing transaction (see ``StoredHook``).
    """
    mode = "batch" if account_ids is None else "realtime"
    frames = record_frames(engine=engine, kinds=_KINDS, account_ids=account_ids)
    if account_ids is not None and frames["accounts"].height < len(set(account_ids)):
        missing = sorted(set(account_ids) - set(frames["accounts"]["account_id"]))
        raise NotFound(f"no account {', '.join(map(repr, missing))} is stored")
    with UnitOfWork(engine) as uow:
        repository = DecisionRepository(uow.connection)
        touches = repository.touches(None if account_ids is None else list(account_ids))
        stored_model = repository.active_model()
        day = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
        week = day - timedelta(days=day.weekday())
        used = repository.capacity_used(
            week, week + timedelta(days=7), day=(day, day + timedelta(days=1))
        )
    used_today, used_week = (
        frame.select("action", "owner_id") for frame in (used.filter("in_day"), used)
    )
    catalog = catalog_of(frames["products"])
    context = build_context(_inputs(frames, touches, playbook), playbook, as_of)
    policy = _POLICY(playbook, (catalog.product_ids, frozenset(kill_switches)))
    model = model_for(stored_model, playbook, catalog)
    capacities = remaining_capacities(playbook, policy.capacities, used_today, used_week)
    batch = decide_accounts(
        context,
        playbook,
        policy,
        catalog,
        model if scorer is None else scorer,
        demoted=demoted,
        capacities=capacities,
    )
    run_id = store_batch(engine, actor, batch, mode, playbook_version, now, on_stored=on_stored)
    return DecisionRun(run_id, mode, batch.as_of, playbook_version, batch.model_version, batch)


def _inputs(
    frames: Mapping[str, pl.DataFrame], touches: pl.DataFrame, playbook: Playbook
) -> ContextInputs:
    channels = {name: action.channel.value for name, action in playbook.actions.items()}
    touched = touches.select(
        "account_id",
        contact_id=pl.lit(None, dtype=pl.String),
        channel=pl.col("action").replace_strict(channels, default="none"),
        occurred_at="occurred_at",
    )
    return ContextInputs(
        accounts=frames["accounts"],
        contacts=frames["contacts"],
        products=frames["products"],
        holdings=frames["holdings"],
        opportunities=frames["opportunities"],
        signals=frames["signals"],
        outcomes=frames["outcomes"],
        touches=touched,
    )


def _policy_of(
    playbook: Playbook, key: tuple[tuple[str, ...], frozenset[KillSwitch]]
) -> GuardrailPolicy:
    """The guardrail policy of a playbook over a catalog, with these kill switches."""
    products, kill_switches = key
    schema = context_schema_for(playbook, KnownCatalog(products=frozenset(products)))
    return guardrail_policy(playbook, schema, kill_switches=kill_switches)


def _prior_of(playbook: Playbook, products: tuple[str, ...]) -> ResponseModel:
    """The playbook's day-one model over a catalog."""
    actions = tuple(name for name in playbook.actions if name != "no_action")
    return prior_model(playbook, feature_names(playbook), products, actions)


_POLICY = PerPlaybook(_policy_of)
_PRIOR = PerPlaybook(_prior_of)


def model_for(
    stored: Mapping[str, object] | None, playbook: Playbook, catalog: Catalog
) -> ResponseModel:
    """The active model if it fits today's playbook and catalog, else the playbook's priors."""
    prior = _PRIOR(playbook, catalog.product_ids)
    if stored is None:
        return prior
    model = ResponseModel.from_dict(stored)
    fits = (
        model.feature_names == prior.feature_names
        and model.product_ids == prior.product_ids
        and model.actions == prior.actions
    )
    if not fits:
        return prior
    # The playbook's priors may have changed since the model was fitted.
    return replace(model, prior_uplift=prior.prior_uplift)


def store_batch(
    engine: Engine,
    actor: Actor,
    batch: DecisionBatch,
    mode: str,
    playbook_version: int,
    now: datetime,
    *,
    on_stored: StoredHook | None = None,
) -> int:
    """Store a batch as a run, its log and its acting decisions, audited; return the run id."""
    decisions = batch.decisions
    acting = decisions.filter(pl.col("action") != "no_action")
    summary = {
        **batch.summary,
        "shadow_prices": batch.shadow_prices.filter(pl.col("binding")).to_dicts(),
        "blocked": batch.blocked.with_columns(pl.col("rule_id").cast(pl.String)).to_dicts(),
    }
    with UnitOfWork(engine) as uow:
        repository = DecisionRepository(uow.connection)
        run_id = repository.start_run(
            mode=mode,
            as_of=batch.as_of,
            started_at=now,
            playbook_version=playbook_version,
            model_version=batch.model_version,
        )
        repository.add_decisions(
            acting.with_columns(
                run_id=pl.lit(run_id),
                as_of=pl.lit(batch.as_of, dtype=pl.Datetime("us", "UTC")),
                playbook_version=pl.lit(playbook_version),
                model_version=pl.lit(batch.model_version),
            )
        )
        repository.save_log(run_id, decisions)
        if on_stored is not None and acting.height:
            on_stored(uow, run_id, repository.decisions(run_id=run_id))
        text = json.dumps(summary, default=str)
        repository.finish_run(
            run_id, finished_at=now, accounts=decisions.height, actions=acting.height, summary=text
        )
        details: dict[str, object] = {
            "run_id": run_id,
            "mode": mode,
            "as_of": batch.as_of.isoformat(),
            "model_version": batch.model_version,
            "accounts": decisions.height,
            "actions": acting.height,
            "by_action": batch.summary.get("by_action", {}),
        }
        if mode == "realtime" and decisions.height == 1:
            details["decision"] = decisions.drop("reasons").to_dicts()[0]
        record_audit(
            uow,
            actor=actor,
            action="decision.run",
            subject=f"decision_run:{run_id}",
            details=json.loads(json.dumps(details, default=str)),
            occurred_at=now,
            playbook_version=playbook_version,
        )
        uow.commit()
    return run_id


# --- learning ----------------------------------------------------------------------------


def learn(
    *, engine: Engine, playbook: Playbook, as_of: datetime, now: datetime, seed: int = 0
) -> LearnReport:
    """Fit the response model on decisions logged before ``as_of`` and their outcomes.

    Every decision's account is replayed as of its decision time (the context then), so
    nothing learned leaks from later data. The outcome is a purchase (or won opportunity)
    of the product within the playbook's attribution window, cut at ``as_of``.
    """
    with UnitOfWork(engine) as uow:
        repository = DecisionRepository(uow.connection)
        logged = repository.logged(until=as_of)
        sample = _training_sample(logged, seed)
        accounts = sample["account_id"].unique().to_list()
        touches = repository.touches(accounts or [""])
    actions = tuple(name for name in playbook.actions if name != "no_action")
    frames = record_frames(engine=engine, kinds=_KINDS, account_ids=accounts or [""])
    catalog = catalog_of(frames["products"])
    prior = prior_model(playbook, feature_names(playbook), catalog.product_ids, actions)
    rows = _training_rows(sample, frames, touches, playbook, catalog, actions, as_of)
    model = fit_response_model(prior, rows, seed=seed)
    if model.learned:
        with UnitOfWork(engine) as uow:
            DecisionRepository(uow.connection).save_model(
                version=model.version,
                trained_at=now,
                as_of=as_of,
                rows=model.rows,
                params=model.to_dict(),
                metrics=model.metrics,
            )
            uow.commit()
    return LearnReport(model.version, len(rows.bought), sample.height, model.learned, model.metrics)


def _training_sample(logged: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Every acting decision and a random sample of the others (they are many and alike)."""
    if logged.height == 0:
        return pl.DataFrame(
            schema={
                "account_id": pl.String,
                "action": pl.String,
                "product_id": pl.String,
                "as_of": pl.Datetime("us", "UTC"),
            }
        )
    acting = logged.filter(pl.col("action") != "no_action")
    idle = logged.filter(pl.col("action") == "no_action")
    if idle.height > _MAX_CONTROL_ROWS:
        idle = idle.sample(_MAX_CONTROL_ROWS, seed=seed)
    return pl.concat([acting, idle]).sort("as_of", "account_id")


def _training_rows(
    sample: pl.DataFrame,
    frames: Mapping[str, pl.DataFrame],
    touches: pl.DataFrame,
    playbook: Playbook,
    catalog: Catalog,
    actions: tuple[str, ...],
    as_of: datetime,
) -> TrainingRows:
    window = timedelta(days=playbook.measurement.attribution_days)
    bought = frames["outcomes"].filter(
        pl.col("outcome_type").is_in(_BOUGHT) & pl.col("product_id").is_not_null()
    )
    unsubscribes = frames["outcomes"].filter(
        pl.col("outcome_type") == OutcomeType.UNSUBSCRIBE.value
    )
    groups: dict[str, int] = {}
    parts: list[TrainingRows] = []
    for (decided_at,), day in sample.group_by("as_of", maintain_order=True):
        assert isinstance(decided_at, datetime)
        ids = day["account_id"].unique()
        scoped = {
            kind: frame.filter(pl.col("account_id").is_in(ids))
            if "account_id" in frame.columns
            else frame
            for kind, frame in frames.items()
        }
        touched = touches.filter(pl.col("account_id").is_in(ids))
        context = build_context(_inputs(scoped, touched, playbook), playbook, decided_at)
        until = min(decided_at + window, as_of)
        purchases = (
            bought.filter((pl.col("occurred_at") > decided_at) & (pl.col("occurred_at") <= until))
            .select("account_id", "product_id")
            .unique()
        )
        left = unsubscribes.filter(
            (pl.col("occurred_at") > decided_at) & (pl.col("occurred_at") <= until)
        )
        parts.append(
            _rows_of_day(
                day,
                context,
                _Labels(purchases, frozenset(left["account_id"].to_list()), groups),
                playbook,
                catalog,
                actions,
            )
        )
    if not parts:
        empty = np.zeros(0)
        return TrainingRows(
            np.zeros((0, len(feature_names(playbook)))),
            empty,
            empty.astype(np.int64),
            empty.astype(np.int64),
            empty,
        )
    return TrainingRows(
        features=np.vstack([p.features for p in parts]),
        interest=np.concatenate([p.interest for p in parts]),
        product=np.concatenate([p.product for p in parts]),
        motion=np.concatenate([p.motion for p in parts]),
        bought=np.concatenate([p.bought for p in parts]),
        group=np.concatenate([_given(p.group) for p in parts]),
        unsubscribed=np.concatenate([_given(p.unsubscribed) for p in parts]),
        decision_row=np.concatenate([_given(p.decision_row) for p in parts]),
    )


_T = TypeVar("_T", bound=np.generic)


def _given(values: npt.NDArray[_T] | None) -> npt.NDArray[_T]:
    assert values is not None  # _rows_of_day always fills them
    return values


@dataclass(frozen=True)
class _Labels:
    """What followed one day's decisions, and the account numbering shared across days."""

    purchases: pl.DataFrame
    """(account_id, product_id) bought within the window."""
    unsubscribed: frozenset[str]
    """Accounts with an unsubscribe within the window."""
    groups: dict[str, int]


def _rows_of_day(
    day: pl.DataFrame,
    context: AccountContext,
    labels: _Labels,
    playbook: Playbook,
    catalog: Catalog,
    actions: tuple[str, ...],
) -> TrainingRows:
    """Treated rows for the product each action carried; control rows for every buyable one."""
    frame = context.frame
    features = account_features(frame, playbook).matrix
    interest = product_interest(context.product_interest, frame["account_id"], catalog.product_ids)
    can_buy = buyable(frame, catalog)
    position = {account: i for i, account in enumerate(frame["account_id"].to_list())}
    product_position = {p: j for j, p in enumerate(catalog.product_ids)}
    bought = {(a, p) for a, p in labels.purchases.iter_rows()}
    motion_of = {name: k for k, name in enumerate(actions)}
    accounts, products, motions, first = [], [], [], []
    for account, action, product in day.select("account_id", "action", "product_id").iter_rows():
        i = position.get(account)
        if i is None:
            continue
        if action == "no_action":
            for n, j in enumerate(np.flatnonzero(can_buy[i])):
                accounts.append(i)
                products.append(int(j))
                motions.append(-1)
                first.append(n == 0)
        elif action in motion_of and product in product_position:
            accounts.append(i)
            products.append(product_position[product])
            motions.append(motion_of[action])
            first.append(True)
    a = np.asarray(accounts, dtype=np.int64)
    p = np.asarray(products, dtype=np.int64)
    ids = frame["account_id"].to_list()
    outcome = np.array(
        [(ids[i], catalog.product_ids[j]) in bought for i, j in zip(a, p, strict=True)],
        dtype=np.float64,
    )
    return TrainingRows(
        features=features[a] if len(a) else np.zeros((0, features.shape[1])),
        interest=interest[a, p] if len(a) else np.zeros(0),
        product=p,
        motion=np.asarray(motions, dtype=np.int64),
        bought=outcome,
        group=np.array([labels.groups.setdefault(ids[i], len(labels.groups)) for i in a], np.int64),
        unsubscribed=np.array([ids[i] in labels.unsubscribed for i in a], dtype=np.float64),
        decision_row=np.asarray(first, dtype=bool),
    )
