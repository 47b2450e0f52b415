"""Online updates: between refits, the champion is corrected by the outcomes that arrived.

A refit learns from the whole history and is gated on held-out days, so it runs on a
schedule (weekly by default). Between refits outcomes keep arriving, and the world moves:
a programme that converted well may convert half as well from one day on, and a model
fitted on months of the old behaviour goes on valuing it as before. An online update
measures, on the decisions made since the champion's *base* model was trained (none of
which it learned from), each motion's uplift factor — the share of the uplift it
predicted that came true, the base rate corrected, shrunk toward 1 by its uncertainty
and kept within 0.2–1 (:mod:`nextmove.learning.calibration`) — and serves the base model
with those factors. Open attribution windows count for the share of them seen.

An update is registered as a model of its own (its version is a hash of its parameters,
so every decision still names the exact model that made it): the new ``champion``, with
``update_of`` (the base), the decisions it measured and the factors in its evaluation;
the model it replaces is retired. It is registered only when a factor moved by at least
:data:`MIN_CHANGE` from those being served. The next refit is gated against it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import JsonValue
from sqlalchemy import Engine

from nextmove.decisions.candidates import catalog_of
from nextmove.decisions.repository import DecisionRepository
from nextmove.decisions.service import model_for
from nextmove.decisions.training_rows import RECORD_KINDS, training_rows, training_sample
from nextmove.foundation.service import record_frames
from nextmove.governance.model import Actor
from nextmove.governance.service import record_audit
from nextmove.learning.calibration import uplift_factors
from nextmove.learning.model import ModelRecord, ModelStatus
from nextmove.learning.response import ResponseModel
from nextmove.playbook.model import Playbook
from nextmove.store import UnitOfWork

__all__ = ["MIN_CHANGE", "OnlineUpdate", "update_online"]

MIN_CHANGE = 0.02
"""A factor must move at least this much from the one served for a new model."""
_UPDATE_KEYS = ("update_of", "replaces", "online")


@dataclass(frozen=True)
class OnlineUpdate:
    """What an online update measured and whether it registered a new champion."""

    base: str | None
    """The model the factors apply to (None: no learned champion to update)."""
    since: datetime | None
    """Decisions made from here (the base's training cut) were measured."""
    until: datetime | None
    """… with the outcomes known up to here."""
    decisions: int
    rows: int
    factors: dict[str, float]
    """Per motion, the share of the base's predicted uplift that came true."""
    model_version: str | None
    """The champion after the update."""
    registered: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        values = dict(self.__dict__)
        for moment in ("since", "until"):
            at = values[moment]
            values[moment] = None if at is None else at.isoformat()
        return values


def update_online(
    *,
    engine: Engine,
    actor: Actor,
    playbook: Playbook,
    playbook_version: int | None,
    as_of: datetime,
    now: datetime,
    seed: int = 0,
) -> OnlineUpdate:
    """Measure the champion's base model on the decisions since it was trained (outcomes
    up to ``as_of``) and register it with the new uplift factors when they moved."""
    with UnitOfWork(engine) as uow:
        repository = DecisionRepository(uow.connection)
        champions = repository.model_records(status=ModelStatus.CHAMPION)
        if not champions:
            return _nothing("no champion model yet: the playbook's priors decide")
        champion = champions[0]
        base_version = str(champion.evaluation.get("update_of") or champion.version)
        base_record = repository.model_records(version=base_version)
        params = repository.model_params(base_version)
        if params is None or not base_record:
            return _nothing(f"the base model {base_version} is not in the registry")
        since = base_record[0].as_of
        recent = repository.logged(since=since, until=as_of)
    sample = training_sample(recent, seed)
    ids = sample["account_id"].unique().to_list()
    with UnitOfWork(engine) as uow:
        touches = DecisionRepository(uow.connection).touches(ids or [""])
    frames = record_frames(engine=engine, kinds=RECORD_KINDS, account_ids=ids or [""])
    catalog = catalog_of(frames["products"])
    base = model_for(params, playbook, catalog)
    if not base.learned:
        return _nothing(f"the base model {base_version} no longer fits the playbook")
    rows = training_rows(sample, frames, touches, playbook, catalog, base.actions, as_of)
    assert rows.exposure is not None
    parts = base.predict_parts(rows)
    factors = uplift_factors(
        *parts, rows.bought, exposure=rows.exposure, motion=rows.motion, actions=len(base.actions)
    )
    measured = dict(zip(base.actions, factors, strict=True))
    served = _served_factors(champion, base)
    moved = max(abs(measured[a] - served[a]) for a in base.actions)
    found = OnlineUpdate(
        base=base_version, since=since, until=as_of, decisions=recent.height, rows=len(rows.bought),
        factors=measured, model_version=champion.version, registered=False, reason="",
    )  # fmt: skip
    if moved < MIN_CHANGE:
        return replace(found, reason=f"the factors moved by {moved:.3f} (< {MIN_CHANGE}): kept")
    updated = replace(base, uplift_scale=factors)
    if updated.version == champion.version:
        return replace(found, reason="the same factors are served already")
    _register(engine, actor, playbook_version, updated, base_record[0], found, champion, now)
    return replace(
        found,
        model_version=updated.version,
        registered=True,
        reason=f"the factors moved by up to {moved:.3f}: {updated.version} serves",
    )


def _nothing(reason: str) -> OnlineUpdate:
    return OnlineUpdate(None, None, None, 0, 0, {}, None, False, reason)


def _served_factors(champion: ModelRecord, base: ResponseModel) -> dict[str, float]:
    """The factors the champion serves (an update's, or the base's own calibration)."""
    served = champion.evaluation.get("online", {}).get("factors")
    if isinstance(served, dict):
        return {a: float(served.get(a, 1.0)) for a in base.actions}
    return {a: base.uplift_factor(k) for k, a in enumerate(base.actions)}


def _register(
    engine: Engine,
    actor: Actor,
    playbook_version: int | None,
    updated: ResponseModel,
    base: ModelRecord,
    found: OnlineUpdate,
    replaced: ModelRecord,
    now: datetime,
) -> None:
    reason = "online update: uplift factors measured on the decisions since it was trained"
    evaluation = {
        "reasons": [reason],
        "update_of": base.version,
        "replaces": replaced.version,
        "online": found.to_dict(),
    }
    metrics = {
        **base.metrics,
        **{f"{a}.uplift_factor": f for a, f in found.factors.items()},
    }
    with UnitOfWork(engine) as uow:
        repository = DecisionRepository(uow.connection)
        known = repository.model_records(version=updated.version)
        if known:  # these factors were served before (or are the base's own)
            kept = {**known[0].evaluation, **{k: evaluation[k] for k in _UPDATE_KEYS}}
            repository.set_model_status(
                updated.version, ModelStatus.CHAMPION, at=now, evaluation=kept
            )
        else:
            repository.save_model(
                version=updated.version,
                trained_at=now,
                data_from=base.data_from,
                as_of=base.as_of,
                rows=base.rows,
                params=updated.to_dict(),
                metrics=metrics,
                status=ModelStatus.CHAMPION,
                evaluation=evaluation,
            )
        record_audit(
            uow,
            actor=actor,
            action="model.update",
            subject=f"model:{updated.version}",
            details={
                "update_of": base.version,
                "replaces": replaced.version,
                "factors": dict[str, JsonValue](found.factors),
                "decisions": found.decisions,
            },
            occurred_at=now,
            playbook_version=playbook_version,
        )
        uow.commit()
