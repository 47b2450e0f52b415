"""Per-account outcomes over a period, and the lift of treated accounts over the holdout.

The unit is the account. An account enters the period with its first decision in it; its
outcome counts what happened after that decision and up to the period's end (the
playbook's holdout is a random sample of accounts, so both groups are counted alike).
Groups (segment, motion, product) are read before anything was done: an account's
``motion`` and ``product`` are those of the move its first decision made — or, for an
account that got none (held out, below the thresholds), the best allowed move its
reasons name — so a held-out account is compared with the treated accounts the engine
would have treated alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import polars as pl

from nextmove.domain import SALE_OUTCOMES
from nextmove.measurement.lift import difference_in_means
from nextmove.measurement.model import LiftRow, Metric

__all__ = ["account_outcomes", "candidate_moves", "lift_by", "lift_over_time"]

NO_ACTION = "no_action"
_CONTRIBUTION = {
    Metric.REVENUE: pl.when(pl.col("outcome_type").is_in(SALE_OUTCOMES)).then(pl.col("value")),
    Metric.CONVERSION: pl.when(pl.col("outcome_type").is_in(SALE_OUTCOMES)).then(1.0),
    Metric.OPPORTUNITIES: pl.when(pl.col("outcome_type") == "opportunity_created").then(1.0),
    Metric.UNSUBSCRIBE: pl.when(pl.col("outcome_type") == "unsubscribe").then(1.0),
    Metric.COMPLAINT: pl.when(pl.col("outcome_type") == "complaint").then(1.0),
}
_AT_MOST_ONE = (Metric.CONVERSION, Metric.UNSUBSCRIBE, Metric.COMPLAINT)


def candidate_moves(decisions: pl.DataFrame) -> pl.DataFrame:
    """Return ``decisions`` with ``motion`` and ``candidate_product``: the move made, or for
    a ``no_action`` decision the best allowed move its reasons name (null when none)."""
    runner_up = pl.col("reasons").str.json_path_match("$.runner_up")
    offered = runner_up.str.split(": ").list.first().str.split(" for ")
    acting = pl.col("action") != NO_ACTION
    product = offered.list.get(1, null_on_oob=True)
    return decisions.with_columns(
        motion=pl.when(acting).then(pl.col("action")).otherwise(offered.list.first()),
        candidate_product=pl.when(acting)
        .then(pl.col("product_id"))
        .otherwise(pl.when(product != "the account").then(product)),
    )


def account_outcomes(
    decisions: pl.DataFrame,
    outcomes: pl.DataFrame,
    metrics: Sequence[Metric],
    *,
    until: datetime,
    groups: Sequence[str] = (),
) -> pl.DataFrame:
    """Return one row per decided account: ``holdout``, ``entered_at``, ``groups`` (of the
    first decision) and one column per metric (outcomes after entering, up to ``until``).

    ``decisions`` need ``account_id``, ``as_of``, ``holdout`` and the ``groups`` columns.
    """
    entered = (
        decisions.filter(pl.col("as_of") < until)
        .sort("as_of")
        .group_by("account_id", maintain_order=True)
        .agg(
            pl.col("holdout").any(),
            pl.col("as_of").first().alias("entered_at"),
            *(pl.col(g).first() for g in groups),
        )
    )
    counted = outcomes.join(entered.select("account_id", "entered_at"), on="account_id").filter(
        (pl.col("occurred_at") > pl.col("entered_at")) & (pl.col("occurred_at") <= until)
    )
    per_account = counted.group_by("account_id").agg(
        (
            _CONTRIBUTION[m].max().fill_null(0.0)
            if m in _AT_MOST_ONE
            else _CONTRIBUTION[m].sum().fill_null(0.0)
        ).alias(m.value)
        for m in metrics
    )
    return entered.join(per_account, on="account_id", how="left").with_columns(
        pl.col(m.value).fill_null(0.0).cast(pl.Float64) for m in metrics
    )


def lift_by(
    table: pl.DataFrame,
    metric: Metric,
    dimension: str = "all",
    *,
    confidence: float = 0.95,
    bootstrap: int = 0,
) -> list[LiftRow]:
    """Return the lift of ``metric`` in each group of ``dimension`` (``all``: one row).

    Groups without a treated or a control account are left out.
    """
    column = pl.lit("all") if dimension == "all" else pl.col(dimension).cast(pl.String)
    keyed = table.with_columns(_group=column).filter(pl.col("_group").is_not_null())
    rows = []
    for (group,), part in keyed.sort("_group").group_by("_group", maintain_order=True):
        treated = part.filter(~pl.col("holdout"))[metric.value].to_numpy()
        control = part.filter(pl.col("holdout"))[metric.value].to_numpy()
        if len(treated) == 0 or len(control) == 0:
            continue
        lift = difference_in_means(treated, control, confidence=confidence, bootstrap=bootstrap)
        rows.append(
            LiftRow(
                dimension=dimension,
                group=str(group),
                metric=metric,
                treated=len(treated),
                control=len(control),
                treated_mean=float(np.mean(treated)),
                control_mean=float(np.mean(control)),
                lift=lift,
            )
        )
    return rows


def lift_over_time(
    decisions: pl.DataFrame,
    outcomes: pl.DataFrame,
    metric: Metric,
    ends: Sequence[datetime],
    *,
    confidence: float = 0.95,
) -> list[LiftRow]:
    """Return the cumulative lift of ``metric`` from the start to each of ``ends``.

    Each row's ``group`` is its end date (ISO); its interval narrows as evidence grows.
    """
    rows = []
    for end in ends:
        table = account_outcomes(decisions, outcomes, [metric], until=end)
        for row in lift_by(table, metric, confidence=confidence):
            rows.append(
                LiftRow("week", end.date().isoformat(), metric, row.treated, row.control,
                        row.treated_mean, row.control_mean, row.lift)
            )  # fmt: skip
    return rows
