"""One decision per account: candidates → scores → guardrails → allocation → choice → reasons.

:func:`decide_accounts` is pure: it reads an account context (built at ``as_of``), the
playbook, the catalog and a response model, and returns a :class:`DecisionBatch` with one
decision per account (``no_action`` included), nothing written anywhere. The same inputs
always give the same decisions, in a batch of a million accounts or for one account alone
(exploration and holdout depend only on the account id and the day).

Per account and action, the product with the highest expected incremental value is the
action's candidate::

    expected_value = uplift × value of a sale − cost of the motion
    score          = expected_value × the action's lever

Candidates pass the guardrail filter (every playbook rule but capacity), then the
thresholds (least expected value and confidence, per action), then the allocation, which
chooses across all accounts at once within team and owner capacity by score. Accounts in
the holdout get ``no_action``; a share of the others explores (see
:mod:`nextmove.decisions.selection`). The chosen set passes the guardrail filter once more
with capacities and one action per account — the single gate every decision goes through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.special import ndtr

from nextmove.decisions.allocation import Capacity, allocate
from nextmove.decisions.candidates import ActionSpec, Catalog, action_specs
from nextmove.decisions.columns import rows_where
from nextmove.decisions.context import AccountContext
from nextmove.decisions.decision_rows import Draws, decision_rows, summary_of
from nextmove.decisions.scoring import ModelScorer, Scorer, Scores
from nextmove.decisions.screening import (
    CANDIDATE_COLUMNS,
    NOTHING,
    screen_candidates,
    with_accounts,
)
from nextmove.decisions.selection import exploration_draws, in_holdout
from nextmove.governance.guardrail_rules import CapacityLimit
from nextmove.governance.guardrails import apply_guardrails
from nextmove.learning.response import ResponseModel
from nextmove.playbook.model import AutonomyLevel, Playbook
from nextmove.playbook.policy import GuardrailPolicy

__all__ = ["DECISION_COLUMNS", "DecisionBatch", "decide_accounts"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

NO_ACTION = "no_action"
EXPLORATION_MIN_CONFIDENCE = 0.25
"""Exploration tries moves with at least this chance of paying off (P(value > 0))."""
DECISION_COLUMNS = (
    "account_id",
    "action",
    "product_id",
    "expected_value",
    "score",
    "uplift",
    "confidence",
    "propensity",
    "explored",
    "holdout",
    "autonomy",
    "owner_id",
    "reasons",
)


@dataclass(frozen=True)
class DecisionBatch:
    """One decision per account, and what the run learned about its constraints."""

    decisions: pl.DataFrame
    """One row per account with :data:`DECISION_COLUMNS`."""
    shadow_prices: pl.DataFrame
    """constraint_id, limit, used, shadow_price, binding."""
    blocked: pl.DataFrame
    """rule_id, blocked: candidates each guardrail stopped first."""
    as_of: datetime
    model_version: str
    breaches: int = 0
    """Chosen decisions the final guardrail pass refused (should always be 0)."""
    summary: dict[str, object] = field(default_factory=dict)


def decide_accounts(
    context: AccountContext,
    playbook: Playbook,
    policy: GuardrailPolicy,
    catalog: Catalog,
    scorer: ResponseModel | Scorer,
    *,
    demoted: Mapping[str, AutonomyLevel] | None = None,
    capacities: Sequence[CapacityLimit] | None = None,
) -> DecisionBatch:
    """Decide the next move of every account of ``context`` (see the module docstring).

    ``scorer`` is the response model (the engine's own scoring) or any other
    :class:`~nextmove.decisions.scoring.Scorer`. ``capacities`` replace the policy's (e.g.
    with what earlier runs today left of them, see :mod:`nextmove.decisions.capacity`);
    ``demoted`` holds actions below their level.
    """
    frame = context.frame
    specs = action_specs(playbook, catalog)
    if isinstance(scorer, ResponseModel):
        scorer = ModelScorer(scorer)
    scored = scorer.score(context, playbook, catalog, specs)
    limits = {c.rule_id: c for c in (policy.capacities if capacities is None else capacities)}
    needed = {"account_id", "owner_id", "segment", *policy.columns} & set(frame.columns)
    accounts = frame[[c for c in frame.columns if c in needed]]
    grouped = {c for limit in limits.values() for c in limit.columns}
    kept = sorted(({"account_id"} | grouped) & set(accounts.columns) - set(CANDIDATE_COLUMNS))
    screened = screen_candidates(
        accounts, scored, catalog, specs, playbook, demoted or {}, policy, kept
    )
    allowed = _with_confidence(screened.allowed, scored, specs)
    holdout = in_holdout(frame["account_id"], playbook.measurement.holdout_share)
    options = _options(allowed, playbook, holdout, frame)
    epsilon = playbook.measurement.exploration_budget
    explore_draw, pick_draw = exploration_draws(frame["account_id"], context.as_of)
    explores = (explore_draw < epsilon) & ~holdout
    explorable = _explorable(allowed, options)
    picks = _exploration_picks(explorable, explores, pick_draw)
    chosen, shadow = _allocate(options, picks, explores, limits)
    final = apply_guardrails(
        with_accounts(rows_where(chosen, chosen["action"] != NO_ACTION), accounts),
        policy.rules,
        list(limits.values()),
        priority="score",
        one_action_per_account=True,
    )
    decisions = decision_rows(
        frame,
        final.allowed,
        allowed,
        options,
        screened.blocked,
        Draws(holdout, explores, epsilon, explorable),
        [spec.name for spec in specs or [NOTHING]],
    )
    return DecisionBatch(
        decisions=decisions,
        shadow_prices=shadow,
        blocked=screened.blocked.counts(),
        as_of=context.as_of,
        model_version=scored.version,
        breaches=final.blocked_count,
        summary=summary_of(decisions, final.blocked_count),
    )


def _with_confidence(
    allowed: pl.DataFrame, scored: Scores, specs: Sequence[ActionSpec]
) -> pl.DataFrame:
    """Add ``confidence``: the probability that the expected value is above zero."""
    if allowed.height == 0:
        return allowed.hstack([pl.Series("confidence", [], dtype=pl.Float64)])
    ev = allowed["expected_value"].to_numpy()
    if scored.spread is None:
        return allowed.with_columns(confidence=pl.Series((ev > 0).astype(np.float64)))
    confidence = np.zeros(allowed.height)
    action_index = allowed["action_index"].to_numpy()
    rows = allowed["row"].to_numpy()
    products = allowed["product_index"].to_numpy()
    value = allowed["value"].to_numpy()
    for k, _spec in enumerate(specs):
        at = np.flatnonzero(action_index == k)
        if not len(at):
            continue
        sd = scored.spread(k, rows[at], products[at])
        spread = np.maximum(sd * value[at], 1e-9)
        confidence[at] = ndtr(ev[at] / spread)
    return allowed.with_columns(confidence=pl.Series(confidence))


# --- choosing --------------------------------------------------------------------------


def _options(
    allowed: pl.DataFrame, playbook: Playbook, holdout: Bools, frame: pl.DataFrame
) -> pl.DataFrame:
    """Allowed candidates that clear the thresholds, outside the holdout."""
    if allowed.height == 0:
        return allowed
    thresholds = playbook.thresholds
    min_value = pl.lit(thresholds.min_expected_value)
    min_conf = pl.lit(thresholds.min_confidence)
    for name, own in thresholds.by_action.items():
        if own.min_expected_value is not None:
            min_value = (
                pl.when(pl.col("action") == name).then(own.min_expected_value).otherwise(min_value)
            )
        if own.min_confidence is not None:
            min_conf = (
                pl.when(pl.col("action") == name).then(own.min_confidence).otherwise(min_conf)
            )
    outside = pl.Series(~holdout)[allowed["row"].to_numpy()]
    return allowed.filter(
        (pl.col("expected_value") >= min_value)
        & (pl.col("confidence") >= min_conf)
        & (pl.col("score") > 0)
        & outside
    )


def _uses(
    options: pl.DataFrame, limits: Mapping[str, CapacityLimit]
) -> tuple[pl.Series, list[Capacity]]:
    """Each option's constraint ids, and every constraint's limit."""
    capacities: dict[str, int] = {}
    parts = []
    for limit in limits.values():
        group = options[limit.group].cast(pl.String).fill_null("∅")
        concerned = (
            options["action"].is_in(list(limit.actions))
            if limit.actions is not None
            else options["action"] != NO_ACTION
        )
        ids = (limit.rule_id + ":" + group).alias("c")
        parts.append(pl.when(concerned).then(ids).otherwise(None))
        assert not isinstance(limit.limits, str)
        for value in group.filter(concerned).unique().to_list():
            cap = limit.limits.get(value, limit.default)
            if cap is not None:
                capacities[f"{limit.rule_id}:{value}"] = int(cap)
    listed = pl.concat_list(parts).list.drop_nulls() if parts else pl.lit([], pl.List(pl.String))
    uses = options.with_columns(listed.alias("uses"))["uses"]
    return uses, [Capacity(c, v) for c, v in sorted(capacities.items())]


def _allocate(
    options: pl.DataFrame,
    picks: pl.DataFrame,
    explores: Bools,
    limits: Mapping[str, CapacityLimit],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Choose within capacity; return the chosen rows and the shadow prices.

    Exploration draws take their capacity first (in random order: a draw must not depend
    on scores); the allocation then shares what is left among the other accounts.
    """
    # Picks score 1 among themselves (none: nothing to change, the schema is the same).
    explored = (
        _within_capacity(picks.with_columns(score=pl.lit(1.0)), limits) if picks.height else picks
    )
    taken = explored
    remaining = _less(limits, taken)
    deciding = (
        options[np.flatnonzero(~explores[options["row"].to_numpy()])] if options.height else options
    )
    if deciding.height == 0:
        return pl.concat([taken, deciding], how="diagonal_relaxed"), _NO_PRICES
    numbered = deciding.with_row_index("option")
    uses, capacities = _uses(numbered, remaining)
    ranked = numbered.with_columns(uses=uses, value=pl.col("score"))
    result = allocate(ranked.select("account_id", "option", "value", "uses"), capacities)
    chosen = numbered.join(result.chosen.select("option"), on="option").drop("option")
    return pl.concat([taken, chosen], how="diagonal_relaxed"), result.shadow_prices


def _within_capacity(picks: pl.DataFrame, limits: Mapping[str, CapacityLimit]) -> pl.DataFrame:
    """The exploration picks that fit the capacities, in the order drawn."""
    if picks.height == 0:
        return picks
    numbered = picks.with_row_index("option")
    uses, capacities = _uses(numbered, limits)
    result = allocate(
        numbered.with_columns(uses=uses, value=pl.lit(1.0)).select(
            "account_id", "option", "value", "uses"
        ),
        capacities,
    )
    return numbered.join(result.chosen.select("option"), on="option").drop("option")


def _less(limits: Mapping[str, CapacityLimit], taken: pl.DataFrame) -> dict[str, CapacityLimit]:
    """The limits with what ``taken`` uses subtracted, per group."""
    if taken.height == 0:
        return dict(limits)
    reduced = {}
    for rule_id, limit in limits.items():
        assert not isinstance(limit.limits, str)
        concerned = taken.filter(
            pl.col("action").is_in(list(limit.actions))
            if limit.actions is not None
            else pl.col("action") != NO_ACTION
        )
        used = concerned.group_by(pl.col(limit.group).cast(pl.String).fill_null("∅")).len()
        room = dict(limit.limits)
        for group, count in used.iter_rows():
            base = room.get(group, limit.default)
            if base is not None:
                room[group] = max(0, base - count)
        reduced[rule_id] = replace(limit, limits=room)
    return reduced


_NO_PRICES = pl.DataFrame(
    schema={
        "constraint_id": pl.String,
        "limit": pl.Int64,
        "used": pl.Int64,
        "shadow_price": pl.Float64,
        "binding": pl.Boolean,
    }
)


def _explorable(allowed: pl.DataFrame, options: pl.DataFrame) -> pl.DataFrame:
    """What exploration draws from: allowed moves with a fair chance of paying off (or
    that the engine would make anyway), so exploring does not pay for hopeless moves."""
    if allowed.height == 0:
        return allowed
    plausible = allowed.filter(pl.col("confidence") >= EXPLORATION_MIN_CONFIDENCE)
    return (
        pl.concat([plausible, options], how="vertical_relaxed")
        .unique(subset=["row", "action_index"], keep="first")
        .sort("row", "action_index")
    )


def _exploration_picks(allowed: pl.DataFrame, explores: Bools, draw: Floats) -> pl.DataFrame:
    """The option each exploring account draws (dropped when it drew doing nothing)."""
    pool = allowed[np.flatnonzero(explores[allowed["row"].to_numpy()])]
    if pool.height == 0:  # the usual case when deciding one account
        return pool.hstack([pl.Series("explored", [], dtype=pl.Boolean)])
    counted = pool.sort("row", "action").with_columns(
        position=pl.int_range(pl.len()).over("row"), options=pl.len().over("row") + 1
    )
    draws = pl.Series(draw).gather(counted["row"])
    slot = (draws * counted["options"]).floor().cast(pl.Int64)  # options slot = no action
    return (
        counted.filter(counted["position"] == slot)
        .drop("position")
        .with_columns(explored=pl.lit(True))
    )


# --- the decisions -----------------------------------------------------------------------
