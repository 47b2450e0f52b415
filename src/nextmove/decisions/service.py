"""Use cases of the decisions part: decide (batch or one account). Learning — fitting,
gating and the champion/challenger test — is in :mod:`nextmove.decisions.learn_service`.

Each reads the store once (in one transaction: :func:`read_inputs`), runs the pure
pipeline, and stores what it decided in one transaction (with the run, and the run's audit
entry): a run is stored whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from nextmove.decisions.candidates import Catalog, catalog_of
from nextmove.decisions.capacity import CapacityUse, capacity_left
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
from nextmove.store import UnitOfWork, joined

__all__ = [
    "DecisionRun",
    "StoredHook",
    "StoredInputs",
    "context_inputs",
    "decide",
    "model_for",
    "read_inputs",
    "store_batch",
]

_KINDS = ("accounts", "contacts", "products", "holdings", "opportunities", "signals", "outcomes")
_FEW_TOUCHES = 1_000
"""Up to this many touches, their channels are looked up in plain Python (less overhead)."""
_FEW_ROWS = 64
"""Up to this many rows, a run's summary rows and constant columns are made in plain Python."""
_UTC = pl.Datetime("us", "UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_ZERO = timedelta(0)
_RUN_COLUMNS = frozenset({"run_id", "as_of", "playbook_version", "model_version"})

StoredHook = Callable[[UnitOfWork, int, pl.DataFrame], None]
"""Called inside the run's transaction with the unit of work, the run id and the stored
acting decisions (with their ids, newest first), so the caller can enqueue work that
commits with them."""


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
class StoredInputs:
    """What a run reads from the store: the accounts' records, the touches that reached
    them, the champion's and the live challenger's parameters, and the capacity earlier
    decisions used today and this week."""

    frames: Mapping[str, pl.DataFrame]
    touches: pl.DataFrame
    champion: Mapping[str, Any] | None
    challenger: tuple[str, Mapping[str, Any]] | None
    used_today: list[CapacityUse]
    used_this_week: list[CapacityUse]


def read_inputs(
    uow: UnitOfWork, *, as_of: datetime, account_ids: Sequence[str] | None = None
) -> StoredInputs:
    """Read what deciding every account (or ``account_ids``) as of ``as_of`` needs, in
    the caller's transaction; NotFound when one of ``account_ids`` is not stored."""
    frames = record_frames(engine=uow, kinds=_KINDS, account_ids=account_ids)
    if account_ids is not None and frames["accounts"].height < len(set(account_ids)):
        missing = sorted(set(account_ids) - set(frames["accounts"]["account_id"]))
        raise NotFound(f"no account {', '.join(map(repr, missing))} is stored")
    repository = DecisionRepository(uow.connection)
    day = as_of.astimezone(UTC).date()
    week = day - timedelta(days=day.weekday())
    # Deciding a few accounts, only their owners' use is read one by one (other groups
    # are not theirs to fill); a team's is read whole.
    owners = None if account_ids is None else _owners_of(frames["accounts"])
    used = repository.capacity_used(week, week + timedelta(days=7), day=day, owners=owners)
    champion, challenger = repository.serving_models()
    return StoredInputs(
        frames=frames,
        touches=repository.touches(None if account_ids is None else list(account_ids)),
        champion=champion,
        challenger=challenger,
        used_today=[(action, owner, n) for action, owner, in_day, n in used if in_day],
        used_this_week=[(action, owner, n) for action, owner, _in_day, n in used],
    )


def _owners_of(accounts: pl.DataFrame) -> set[str]:
    if "owner_id" not in accounts.columns:
        return set()
    return {owner for owner in accounts["owner_id"].to_list() if owner is not None}


def decide(
    *,
    engine: Engine | UnitOfWork,
    actor: Actor,
    playbook: Playbook,
    playbook_version: int,
    kill_switches: Iterable[KillSwitch],
    demoted: Mapping[str, AutonomyLevel],
    as_of: datetime,
    now: datetime,
    account_ids: Sequence[str] | None = None,
    stored: StoredInputs | None = None,
    scorer: Scorer | None = None,
    on_stored: StoredHook | None = None,
) -> DecisionRun:
    """Decide every account (or ``account_ids``) as of ``as_of`` and store the decisions.

    ``stored`` is what :func:`read_inputs` read for them; without it, it is read here.
    Given the caller's unit of work, the run is stored in it and the caller commits.
    ``scorer`` replaces the engine's response model (a challenger policy, a baseline);
    ``on_stored`` runs inside the storing transaction (see ``StoredHook``).
    """
    mode = "batch" if account_ids is None else "realtime"
    if stored is None:
        with joined(engine) as uow:
            stored = read_inputs(uow, as_of=as_of, account_ids=account_ids)
    frames = stored.frames
    catalog = catalog_of(frames["products"])
    context = build_context(context_inputs(frames, stored.touches, playbook), playbook, as_of)
    policy = _POLICY(playbook, (catalog.product_ids, frozenset(kill_switches)))
    model = serving_scorer(
        model_for(stored.champion, playbook, catalog), stored.challenger, playbook, catalog
    )
    capacities = capacity_left(
        playbook, policy.capacities, stored.used_today, stored.used_this_week
    )
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
    if touches.height <= _FEW_TOUCHES:  # one account's: a polars mapping costs more to set up
        names = [channels.get(action, "none") for action in touches["action"].to_list()]
        channel = pl.Series("channel", names, dtype=pl.String)
    else:
        channel = touches["action"].replace_strict(channels, default="none")
    touched = pl.DataFrame(
        [
            touches["account_id"],
            pl.Series("contact_id", [None] * touches.height, dtype=pl.String),
            channel.alias("channel"),
            touches["occurred_at"],
        ]
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
    engine: Engine | UnitOfWork,
    actor: Actor,
    batch: DecisionBatch,
    mode: str,
    playbook_version: int,
    now: datetime,
    *,
    on_stored: StoredHook | None = None,
) -> int:
    """Store a batch as a run, its log and its acting decisions, audited; return the run id.

    In a transaction of its own, committed here; or in the caller's unit of work, which the
    caller commits.
    """
    decisions = batch.decisions
    acting = _acting(decisions)
    summary = {
        **batch.summary,
        "shadow_prices": _rows(batch.shadow_prices, "binding"),
        "blocked": _rows(batch.blocked),  # rule ids (an enum) come out as text
    }
    details: dict[str, object] = {
        "mode": mode,
        "as_of": batch.as_of.isoformat(),
        "model_version": batch.model_version,
        "accounts": decisions.height,
        "actions": acting.height,
        "by_action": batch.summary.get("by_action", {}),
    }
    if mode == "realtime" and decisions.height == 1:
        decision = decisions.row(0, named=True)
        del decision["reasons"]
        details["decision"] = decision
    with joined(engine) as uow:
        repository = DecisionRepository(uow.connection)
        run_id = repository.add_run(
            mode=mode,
            as_of=batch.as_of,
            started_at=now,
            finished_at=now,
            playbook_version=playbook_version,
            model_version=batch.model_version,
            accounts=decisions.height,
            actions=acting.height,
            summary=json.dumps(summary, default=str),
        )
        repository.save_log(run_id, decisions)
        if acting.height:
            stored = repository.add_decisions(_with_run(acting, run_id, batch, playbook_version))
            if on_stored is not None:
                on_stored(uow, run_id, stored)
        record_audit(
            uow,
            actor=actor,
            action="decision.run",
            subject=f"decision_run:{run_id}",
            details=json.loads(json.dumps({"run_id": run_id, **details}, default=str)),
            occurred_at=now,
            playbook_version=playbook_version,
        )
    return run_id


def _acting(decisions: pl.DataFrame) -> pl.DataFrame:
    """The decisions that ask for something (all or none of one account's: no filter)."""
    if decisions.height <= _FEW_ROWS:  # in plain Python: fewer polars calls
        actions = decisions["action"].to_list()
        asks = [action is not None and action != "no_action" for action in actions]
        if all(asks):
            return decisions
        return decisions.filter(pl.Series(asks)) if any(asks) else decisions.clear()
    asking = decisions["action"] != "no_action"
    count = asking.sum()
    if count == decisions.height:
        return decisions
    return decisions.clear() if count == 0 else decisions.filter(asking)


def _rows(frame: pl.DataFrame, where: str | None = None) -> list[dict[str, Any]]:
    """The rows of ``frame`` (where its boolean column ``where`` is true) as dictionaries;
    an empty frame, as most of a small run's are, costs no query, nor does a small one."""
    if frame.height == 0:
        return []
    if where is None:
        return frame.to_dicts()
    if frame.height <= _FEW_ROWS:
        return [row for row in frame.to_dicts() if row[where] is True]
    return frame.filter(pl.col(where)).to_dicts()


def _with_run(
    acting: pl.DataFrame, run_id: int, batch: DecisionBatch, playbook_version: int | None
) -> pl.DataFrame:
    """The acting decisions with their run's id, as_of, playbook version and model version
    (each decision's own model version, when it has one)."""
    model_version = (
        acting["model_version"] if "model_version" in acting.columns else batch.model_version
    )
    as_of = batch.as_of
    if (
        acting.height <= _FEW_ROWS
        and (as_of.tzinfo is None or as_of.utcoffset() == _ZERO)
        and isinstance(model_version, pl.Series | str)
    ):
        # A few rows: the same columns made as series (a datetime literal costs ~0.1 ms).
        # The literal takes as_of's wall-clock time as UTC's: so do its epoch microseconds.
        n = acting.height
        micros = (as_of.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND
        added = [
            pl.Series("run_id", [run_id] * n, dtype=pl.Int64),
            pl.Series("as_of", [micros] * n, dtype=pl.Int64).cast(_UTC),
            pl.Series("playbook_version", [playbook_version] * n, dtype=pl.Int64),
            model_version
            if isinstance(model_version, pl.Series)
            else pl.Series("model_version", [model_version] * n, dtype=pl.String),
        ]
        if _RUN_COLUMNS.isdisjoint(acting.columns):  # appended: cheaper than with_columns
            return acting.hstack(added)
        return acting.with_columns(added)
    return acting.with_columns(
        run_id=pl.lit(run_id, dtype=pl.Int64),
        as_of=pl.lit(as_of, dtype=_UTC),
        playbook_version=pl.lit(playbook_version, dtype=pl.Int64),
        model_version=model_version
        if isinstance(model_version, pl.Series)
        else pl.lit(model_version),
    )
