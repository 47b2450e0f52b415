"""What a candidate playbook would have decided at each logged decision (for evaluation).

Each logged run's accounts are rebuilt as of the run's time (the context then, so nothing
later leaks in) and decided by the same pipeline under the candidate playbook, with the
active response model when it fits the candidate (else the candidate's priors) and the
candidate's full capacities. Kill switches and demotions of the time are not replayed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import polars as pl

from nextmove.decisions.candidates import catalog_of
from nextmove.decisions.context import ContextInputs, build_context
from nextmove.decisions.pipeline import decide_accounts
from nextmove.decisions.service import model_for
from nextmove.playbook.model import Playbook
from nextmove.playbook.policy import guardrail_policy
from nextmove.playbook.semantics import KnownCatalog, context_schema_for

__all__ = ["replay_decisions"]


def replay_decisions(
    logged: pl.DataFrame,
    frames: Mapping[str, pl.DataFrame],
    touches: pl.DataFrame,
    candidate: Playbook,
    stored_model: Mapping[str, Any] | None,
) -> pl.DataFrame:
    """Return run_id, account_id and the candidate's ``target_action`` and
    ``target_product`` for each logged row."""
    catalog = catalog_of(frames["products"])
    schema = context_schema_for(candidate, KnownCatalog(products=frozenset(catalog.product_ids)))
    policy = guardrail_policy(candidate, schema)
    model = model_for(stored_model, candidate, catalog)
    channels = {name: action.channel.value for name, action in candidate.actions.items()}
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
        inputs = ContextInputs(
            accounts=scoped["accounts"], contacts=scoped["contacts"],
            products=scoped["products"], holdings=scoped["holdings"],
            opportunities=scoped["opportunities"], signals=scoped["signals"],
            outcomes=scoped["outcomes"],
            touches=earlier.select(
                "account_id", contact_id=pl.lit(None, dtype=pl.String),
                channel=pl.col("action").replace_strict(channels, default="none"),
                occurred_at="occurred_at",
            ),
        )  # fmt: skip
        context = build_context(inputs, candidate, decided_at)
        batch = decide_accounts(context, candidate, policy, catalog, model)
        parts.append(
            batch.decisions.select(
                pl.lit(run_id, dtype=pl.Int64).alias("run_id"),
                "account_id",
                pl.col("action").alias("target_action"),
                pl.col("product_id").alias("target_product"),
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={
                "run_id": pl.Int64,
                "account_id": pl.String,
                "target_action": pl.String,
                "target_product": pl.String,
            }
        )
    return pl.concat(parts)
