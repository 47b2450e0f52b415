"""Attribution: which decision an outcome is credited to.

The rule, in order:

1. Only decisions about the outcome's account made before it, at most ``window_days``
   earlier (``decided_at < occurred_at <= decided_at + window``), are candidates — the
   playbook's ``measurement.attribution_days``.
2. A decision that asked for something (any action but ``no_action``) wins over one that
   did nothing: a move made a week ago still gets the credit when the account was left
   alone yesterday.
3. Among those, one about the outcome's product wins over one about another product.
4. Then the latest wins (ties: the later run).

An outcome with no candidate is unattributed (its decision columns are null). Held-out
accounts' decisions are ``no_action`` decisions like any other, so their outcomes are
credited to the holdout: that is what the lift compares against.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.domain import SALE_OUTCOMES

__all__ = ["ATTRIBUTED_COLUMNS", "attribute", "decision_rewards"]

NO_ACTION = "no_action"
ATTRIBUTED_COLUMNS = (
    "run_id",
    "decided_at",
    "action",
    "decision_product_id",
    "holdout",
    "explored",
    "propensity",
)
"""What :func:`attribute` adds to each outcome (null when nothing is credited)."""


def attribute(decisions: pl.DataFrame, outcomes: pl.DataFrame, window_days: int) -> pl.DataFrame:
    """Return ``outcomes`` with the decision each is credited to (see the module docstring).

    ``decisions`` has ``account_id``, ``run_id``, ``as_of`` (when it was decided),
    ``action``, ``product_id``, ``holdout``, ``explored`` and ``propensity``; ``outcomes``
    has ``outcome_id``, ``account_id``, ``product_id`` and ``occurred_at``.
    """
    window = timedelta(days=window_days)
    chosen = decisions.select(
        "account_id",
        "run_id",
        pl.col("as_of").alias("decided_at"),
        "action",
        pl.col("product_id").alias("decision_product_id"),
        "holdout",
        "explored",
        "propensity",
    )
    keys = outcomes.select("outcome_id", "account_id", "product_id", "occurred_at")
    candidates = (
        keys.join(chosen, on="account_id")
        .filter(
            (pl.col("decided_at") < pl.col("occurred_at"))
            & (pl.col("occurred_at") <= pl.col("decided_at") + window)
        )
        .with_columns(
            _acting=pl.col("action") != NO_ACTION,
            _same=(pl.col("decision_product_id") == pl.col("product_id")).fill_null(False),
        )
        .sort(
            ["outcome_id", "_acting", "_same", "decided_at", "run_id"],
            descending=[False, True, True, True, True],
        )
        .group_by("outcome_id", maintain_order=True)
        .first()
        .select("outcome_id", *ATTRIBUTED_COLUMNS)
    )
    return outcomes.join(candidates, on="outcome_id", how="left")


def decision_rewards(
    decisions: pl.DataFrame,
    outcomes: pl.DataFrame,
    window: timedelta,
    costs: Mapping[str, float],
    *,
    until: datetime | None = None,
) -> npt.NDArray[np.float64]:
    """Per decision (``run_id``, ``account_id``, ``as_of``, ``action``): the value of its
    account's purchases and won opportunities in ``(as_of, as_of + window]`` (and before
    ``until``), minus the cost of its action — the reward off-policy evaluation reads."""
    bought = outcomes.filter(pl.col("outcome_type").is_in(SALE_OUTCOMES)).select(
        "account_id", pl.col("value").fill_null(0.0), "occurred_at"
    )
    in_window = (pl.col("occurred_at") > pl.col("as_of")) & (
        pl.col("occurred_at") <= pl.col("as_of") + window
    )
    if until is not None:
        in_window &= pl.col("occurred_at") < until
    keyed = decisions.select("run_id", "account_id", "as_of", "action")
    revenue = (
        keyed.join(bought, on="account_id")
        .filter(in_window)
        .group_by("run_id", "account_id")
        .agg(revenue=pl.col("value").sum())
    )
    reward = keyed.join(revenue, on=["run_id", "account_id"], how="left").select(
        pl.col("revenue").fill_null(0.0)
        - pl.col("action").replace_strict(dict(costs), default=0.0, return_dtype=pl.Float64)
    )
    values: npt.NDArray[np.float64] = reward.to_series().to_numpy().astype(np.float64)
    return values
