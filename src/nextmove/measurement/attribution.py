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

from datetime import timedelta

import polars as pl

__all__ = ["ATTRIBUTED_COLUMNS", "attribute"]

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
