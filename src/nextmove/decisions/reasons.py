"""Why each decision was made, in words a rep reads and in fields a program reads.

Every decision carries a JSON object::

    {"why": "sales_outreach for prod-analytics-pro: expected +8,200 (4.1 points more
             likely to buy a 21,000 sale, minus 400 for the motion)",
     "runner_up": "digital_program for prod-analytics-pro: expected +1,100",
     "blocked": ["digital_program: eu_email_needs_opt_in"],
     "explored": false, "holdout": false}

For ``no_action`` the ``why`` says what stopped every move: the holdout, every candidate
blocked by a rule, none clearing the thresholds, or capacity going to better moves.
Built column-wise with polars: a million reasons cost a fraction of a second.
"""

from __future__ import annotations

import polars as pl

__all__ = ["reasons_column"]


def reasons_column(
    decisions: pl.DataFrame,
    allowed: pl.DataFrame,
    options: pl.DataFrame,
    blocked: pl.DataFrame,
) -> pl.Series:
    """Return each decision's reasons as JSON text (decisions need ``row``).

    ``allowed`` are the candidates no rule blocked, ``options`` those of them that also
    cleared the thresholds, ``blocked`` the others with the rule that stopped them.
    """
    rows = decisions.select(
        "row", "action", "product_id", "expected_value", "uplift", "value", "holdout", "explored"
    )
    rows = rows.join(_runner_up(allowed, decisions), on="row", how="left")
    had_option = options.select("row").unique().with_columns(had_option=pl.lit(True))
    rows = rows.join(had_option, on="row", how="left")
    rows = rows.join(_blocked(blocked), on="row", how="left")
    money = _signed(pl.col("expected_value"))
    acting = pl.format(
        "{} for {}: expected {} ({} points more likely to buy a {} sale, net of its cost)",
        pl.col("action"),
        pl.col("product_id").fill_null("the account"),
        money,
        (pl.col("uplift") * 100).round(1).cast(pl.String),
        _money(pl.col("value").fill_null(0.0)),
    )
    idle = (
        pl.when(pl.col("holdout"))
        .then(pl.lit("held out: part of the control group that proves impact"))
        .when(pl.col("explored"))
        .then(pl.lit("exploring: doing nothing was drawn at random"))
        .when(pl.col("had_option").fill_null(False))
        .then(
            pl.format(
                "capacity went to moves worth more; the best here was {}", pl.col("runner_up")
            )
        )
        .when(pl.col("runner_up").is_not_null())
        .then(
            pl.format(
                "no move cleared the playbook's thresholds (least value and confidence); "
                "the best was {}",
                pl.col("runner_up"),
            )
        )
        .when(pl.col("blocked").is_not_null())
        .then(pl.lit("every possible move was blocked by a rule"))
        .otherwise(pl.lit("nothing the account could buy fits any motion"))
    )
    why = pl.when(pl.col("action") == "no_action").then(idle).otherwise(acting)
    encoded = rows.select(
        pl.struct(
            why.alias("why"),
            pl.col("runner_up"),
            pl.col("blocked").fill_null([]),
            pl.col("explored"),
            pl.col("holdout"),
        ).struct.json_encode()
    )
    return encoded.to_series().alias("reasons")


def _signed(amount: pl.Expr) -> pl.Expr:
    """+8,200 or -283."""
    return (
        pl.when(amount.round(0) >= 0).then(pl.lit("+") + _money(amount)).otherwise(_money(amount))
    )


def _money(amount: pl.Expr) -> pl.Expr:
    """Whole currency units: 21320 (no separators: they would cost a regex per row)."""
    return amount.round(0).cast(pl.Int64).cast(pl.String)


def _runner_up(options: pl.DataFrame, decisions: pl.DataFrame) -> pl.DataFrame:
    """The best candidate per account other than the chosen action, as text."""
    if options.height == 0:
        return pl.DataFrame(schema={"row": pl.Int64, "runner_up": pl.String})
    chosen = decisions.select("row", chosen=pl.col("action"))
    others = options.join(chosen, on="row", how="left").filter(
        pl.col("action") != pl.col("chosen").fill_null("")
    )
    best = others.sort("score", descending=True).group_by("row", maintain_order=True).first()
    return best.select(
        "row",
        runner_up=pl.format(
            "{} for {}: expected {}",
            pl.col("action"),
            pl.col("product_id").fill_null("the account"),
            _signed(pl.col("expected_value")),
        ),
    )


def _blocked(blocked: pl.DataFrame) -> pl.DataFrame:
    """Per account, every candidate action a rule stopped and the rule that did."""
    if blocked.height == 0:
        return pl.DataFrame(schema={"row": pl.Int64, "blocked": pl.List(pl.String)})
    # Few distinct (action, rule) pairs and few distinct sets of them: label each set once.
    pairs = blocked.select(
        "row", pl.col("action").cast(pl.String), pl.col("rule_id").cast(pl.String)
    )
    labels = (
        pairs.select("action", "rule_id")
        .unique(maintain_order=True)
        .with_row_index("bit")
        .with_columns(label=pl.format("{}: {}", pl.col("action"), pl.col("rule_id")))
    )
    labels = labels.with_columns(
        value=pl.Series([1 << i for i in range(labels.height)], dtype=pl.Int64)
    )
    if labels.height > 62:
        return pairs.join(labels, on=["action", "rule_id"]).group_by("row").agg(blocked="label")
    masks = (
        pairs.join(labels, on=["action", "rule_id"]).group_by("row").agg(mask=pl.col("value").sum())
    )
    names = labels["label"].to_list()
    distinct = masks["mask"].unique().to_list()
    sets = pl.DataFrame(
        {
            "mask": distinct,
            "blocked": [[n for i, n in enumerate(names) if m >> i & 1] for m in distinct],
        },
        schema={"mask": pl.Int64, "blocked": pl.List(pl.String)},
    )
    return masks.join(sets, on="mask").select("row", "blocked")
