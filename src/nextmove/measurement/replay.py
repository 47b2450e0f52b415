"""What a candidate playbook (or model) would have decided at each logged decision.

Each logged run's accounts are rebuilt as of the run's time (the context then, so nothing
later leaks in) and decided by the same pipeline under the candidate playbook, with the
active response model when it fits the candidate (else the candidate's priors) and the
candidate's full capacities. Kill switches and demotions of the time are not replayed.
:func:`replay_models` decides each run once per model on the same context (the promotion
gate compares a refit's decisions with the champion's this way).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import polars as pl

from nextmove.decisions.candidates import catalog_of
from nextmove.decisions.context import build_context
from nextmove.decisions.pipeline import decide_accounts
from nextmove.decisions.service import context_inputs, model_for
from nextmove.governance.guardrail_rules import CapacityLimit
from nextmove.learning.response import ResponseModel
from nextmove.playbook.model import Playbook
from nextmove.playbook.policy import guardrail_policy
from nextmove.playbook.semantics import KnownCatalog, context_schema_for

__all__ = ["replay_decisions", "replay_models"]


def replay_decisions(
    logged: pl.DataFrame,
    frames: Mapping[str, pl.DataFrame],
    touches: pl.DataFrame,
    candidate: Playbook,
    stored_model: Mapping[str, Any] | None,
) -> pl.DataFrame:
    """Return run_id, account_id and the candidate's ``target_action`` and
    ``target_product`` for each logged row."""
    model = model_for(stored_model, candidate, catalog_of(frames["products"]))
    return replay_models(logged, frames, touches, candidate, {"target": model})


def replay_models(
    logged: pl.DataFrame,
    frames: Mapping[str, pl.DataFrame],
    touches: pl.DataFrame,
    playbook: Playbook,
    models: Mapping[str, ResponseModel],
    *,
    capacity_share: float = 1.0,
) -> pl.DataFrame:
    """Return run_id, account_id and, per named model, ``{name}_action`` and
    ``{name}_product``: what ``playbook`` with that model would have decided for each
    logged row's account at its run's time. ``touches`` (account_id, action, occurred_at)
    are the moves that reached people. When ``logged`` holds a sample of the accounts,
    ``capacity_share`` (the sample's share) scales each team's and each owner's capacity,
    rounded up: a playbook's capacities are all numbers (none is read from a column)."""
    catalog = catalog_of(frames["products"])
    schema = context_schema_for(playbook, KnownCatalog(products=frozenset(catalog.product_ids)))
    policy = guardrail_policy(playbook, schema)
    capacities = [_scaled(limit, capacity_share) for limit in policy.capacities]
    parts = []
    for (run_id,), run in logged.group_by("run_id", maintain_order=True):
        decided_at = run["as_of"][0]
        assert isinstance(decided_at, datetime)
        ids = run["account_id"].unique().implode()
        scoped = {
            kind: frame.filter(pl.col("account_id").is_in(ids)) if "account_id" in frame.columns
            else frame
            for kind, frame in frames.items()
        }  # fmt: skip
        earlier = touches.filter(
            pl.col("account_id").is_in(ids) & (pl.col("occurred_at") < decided_at)
        )
        context = build_context(context_inputs(scoped, earlier, playbook), playbook, decided_at)
        found = pl.DataFrame({"account_id": context.frame["account_id"]})
        for name, model in models.items():
            batch = decide_accounts(
                context, playbook, policy, catalog, model, capacities=capacities
            )
            found = found.join(
                batch.decisions.select(
                    "account_id",
                    pl.col("action").alias(f"{name}_action"),
                    pl.col("product_id").alias(f"{name}_product"),
                ),
                on="account_id",
                how="left",
            )
        parts.append(found.select(pl.lit(run_id, dtype=pl.Int64).alias("run_id"), pl.all()))
    if not parts:
        columns = {"run_id": pl.Int64, "account_id": pl.String}
        for name in models:
            columns |= {f"{name}_action": pl.String, f"{name}_product": pl.String}
        return pl.DataFrame(schema=columns)
    return pl.concat(parts)


def _scaled(limit: CapacityLimit, share: float) -> CapacityLimit:
    """The limit for a ``share`` of the accounts (rounded up; column limits unchanged)."""
    if share >= 1.0:
        return limit
    limits = limit.limits
    if not isinstance(limits, str):
        limits = {group: math.ceil(cap * share) for group, cap in limits.items()}
    default = None if limit.default is None else math.ceil(limit.default * share)
    return replace(limit, limits=limits, default=default)
