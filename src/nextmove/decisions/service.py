"""Use cases of the decisions part: decide (batch or one account). Learning — fitting,
gating and the champion/challenger test — is in :mod:`nextmove.decisions.learn_service`.

Each reads the store once, runs the pure pipeline, and stores what it decided in one
transaction (with the run, and the run's audit entry): a run is stored whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import polars as pl
from sqlalchemy import Engine

from nextmove.decisions.candidates import Catalog, catalog_of
from nextmove.decisions.capacity import remaining_capacities
from nextmove.decisions.challenger import ChampionChallenger
from nextmove.decisions.compiled import PerPlaybook
from nextmove.decisions.context import ContextInputs, build_context
from nextmove.decisions.pipeline import DecisionBatch, decide_accounts
from nextmove.decisions.repository import DecisionRepository
from nextmove.decisions.scoring import Scorer
from nextmove.errors import NotFound
from nextmove.foundation.service import record_frames
from nextmove.governance.model import Actor, KillSwitch
from nextmove.governance.service import record_audit
from nextmove.learning.features import feature_names
from nextmove.learning.response import ResponseModel, prior_model
from nextmove.playbook.model import AutonomyLevel, Playbook
from nextmove.playbook.policy import GuardrailPolicy, guardrail_policy
from nextmove.playbook.semantics import KnownCatalog, context_schema_for
from nextmove.store import UnitOfWork

__all__ = [
    "DecisionRun",
    "StoredHook",
    "context_inputs",
    "decide",
    "model_for",
    "store_batch",
]

_KINDS = ("accounts", "contacts", "products", "holdings", "opportunities", "signals", "outcomes")

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
        challenger = repository.challenger_model()
        day = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
        week = day - timedelta(days=day.weekday())
        used = repository.capacity_counts(
            week, week + timedelta(days=7), day=(day, day + timedelta(days=1))
        )
    counted = ["action", "owner_id", "decisions"]
    used_today, used_week = used.filter("in_day")[counted], used[counted]
    catalog = catalog_of(frames["products"])
    context = build_context(context_inputs(frames, touches, playbook), playbook, as_of)
    policy = _POLICY(playbook, (catalog.product_ids, frozenset(kill_switches)))
    model = serving_scorer(
        model_for(stored_model, playbook, catalog), challenger, playbook, catalog
    )
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
    if scorer is None and isinstance(model, ChampionChallenger):
        batch = replace(
            batch,
            decisions=batch.decisions.with_columns(model.versions(batch.decisions["account_id"])),
        )
    run_id = store_batch(engine, actor, batch, mode, playbook_version, now, on_stored=on_stored)
    return DecisionRun(run_id, mode, batch.as_of, playbook_version, batch.model_version, batch)


def context_inputs(
    frames: Mapping[str, pl.DataFrame], touches: pl.DataFrame, playbook: Playbook
) -> ContextInputs:
    """Return the context inputs of the stored record ``frames`` and ``touches``.

    ``touches`` (account_id, action, occurred_at) become touches on each action's
    channel (``none`` for an action the playbook no longer has), with no contact.
    """
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


def serving_scorer(
    champion: ResponseModel,
    challenger: tuple[str, Mapping[str, object]] | None,
    playbook: Playbook,
    catalog: Catalog,
) -> ResponseModel | ChampionChallenger:
    """The champion, or champion and challenger when one is live and has a share."""
    share = playbook.measurement.challenger_share
    if challenger is None or share <= 0:
        return champion
    model = model_for(challenger[1], playbook, catalog)
    if not model.learned or model.version == champion.version:
        return champion  # the challenger no longer fits the playbook or catalog
    return ChampionChallenger(champion, model, share, challenger[0])


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
                model_version=acting["model_version"]
                if "model_version" in acting.columns
                else pl.lit(batch.model_version),
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
