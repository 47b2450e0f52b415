"""One decision per account: its choice (or no_action), how likely it was, and why. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.decisions.ranking import CandidateTable
from nextmove.decisions.reasons import offer_text, reasons_column
from nextmove.decisions.screening import BlockedCandidates
from nextmove.playbook.model import AutonomyLevel

__all__ = ["Draws", "decision_rows", "summary_of"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

NO_ACTION = "no_action"


def decision_rows(
    frame: pl.DataFrame,
    chosen: pl.DataFrame,
    allowed: pl.DataFrame,
    options: pl.DataFrame,
    blocked: BlockedCandidates,
    draws: Draws,
    actions: Sequence[str],
) -> pl.DataFrame:
    """One row per account of ``frame``: its ``chosen`` candidate, else no_action, with its
    propensity and reasons.

    ``allowed`` are the candidates the rules allowed, ``options`` those of them that
    cleared the thresholds outside the holdout, ``blocked`` the others; every candidate
    frame has ``row`` (the account's position) and ``action_index`` (in ``actions``).
    """
    n = frame.height
    position = np.full(n, -1, dtype=np.int64)
    position[_ints(chosen["row"])] = np.arange(chosen.height)
    action = np.full(n, -1, dtype=np.int64)
    action[_ints(chosen["row"])] = _ints(chosen["action_index"])
    in_allowed = _table(allowed, n, len(actions))
    in_options = _table(options, n, len(actions))
    runner_up = in_allowed.at(in_allowed.best(allowed["score"].to_numpy(), without=action))
    greedy = action == in_options.best(options["score"].to_numpy())
    explorable = _table(draws.explorable, n, len(actions)).count()
    propensity = _propensity(draws, greedy, explorable)
    picked = _gathered(chosen.select(_DECIDED), position)
    offers = allowed.select(
        offer_text(pl.col("action"), pl.col("product_id"), pl.col("expected_value"))
    )
    facts = pl.DataFrame(
        [
            picked["action"].fill_null(NO_ACTION),
            picked["product_id"],
            picked["expected_value"].fill_null(0.0),
            picked["uplift"].fill_null(0.0),
            picked["value"],
            pl.Series("holdout", draws.holdout),
            pl.Series("explored", draws.explores),
            _gathered(offers, runner_up).to_series().alias("runner_up"),
            pl.Series("had_option", in_options.count() > 0),
            blocked.lists(n, actions),
        ]
    )
    return pl.DataFrame(
        [
            frame["account_id"],
            facts["action"],
            facts["product_id"],
            facts["expected_value"],
            picked["score"].fill_null(0.0),
            facts["uplift"],
            picked["confidence"].fill_null(1.0),
            pl.Series("propensity", propensity),
            facts["explored"],
            facts["holdout"],
            picked["autonomy"].fill_null(AutonomyLevel.AUTO.value),
            frame["owner_id"],
            reasons_column(facts),
        ]
    )


def _propensity(draws: Draws, greedy: Bools, explorable: Ints) -> Floats:
    """The probability each decision had of being made.

    1 in the holdout; ``(1 − ε) + ε / n`` for an account that did not explore (the
    allocation's choice), and ``ε / n + (1 − ε)·[it is the best option]`` for one that
    did, ``n`` being the moves it could draw plus doing nothing. Where capacity binds, the
    best option before allocation stands in for the allocation's choice.
    """
    epsilon = draws.epsilon
    n_options = (explorable + 1).astype(np.float64)
    chosen: Floats = np.where(
        draws.holdout,
        1.0,
        np.where(
            draws.explores,
            epsilon / n_options + (1.0 - epsilon) * greedy.astype(np.float64),
            1.0 - epsilon + epsilon / n_options,
        ),
    )
    return chosen


def _table(candidates: pl.DataFrame, accounts: int, actions: int) -> CandidateTable:
    return CandidateTable.of(
        accounts, actions, _ints(candidates["row"]), _ints(candidates["action_index"])
    )


@dataclass(frozen=True)
class Draws:
    """Who is held out, who explores, the exploration budget ε, and what exploring
    accounts draw from (candidates with ``row`` and ``action_index``)."""

    holdout: Bools
    explores: Bools
    epsilon: float
    explorable: pl.DataFrame


_DECIDED = (
    "action",
    "product_id",
    "expected_value",
    "score",
    "uplift",
    "confidence",
    "autonomy",
    "value",
)
"""What a decision takes from its chosen candidate."""


def _gathered(frame: pl.DataFrame, positions: Ints) -> pl.DataFrame:
    """The rows of ``frame`` at ``positions``, all null where a position is -1."""
    if frame.height == 0:  # gathering only nulls from no rows can panic in polars 1.x
        return frame.select(
            pl.repeat(None, len(positions), dtype=t).alias(c) for c, t in frame.schema.items()
        )
    index = pl.Series("i", positions, dtype=pl.Int64)
    found = index.to_frame().select(pl.when(pl.col("i") >= 0).then(pl.col("i"))).to_series()
    return frame.select(pl.all().gather(found))


def _ints(series: pl.Series) -> Ints:
    return np.asarray(series.to_numpy(), dtype=np.int64)


def summary_of(decisions: pl.DataFrame, breaches: int) -> dict[str, object]:
    by_action = decisions.group_by("action").len().sort("action")
    acting = decisions.filter(pl.col("action") != NO_ACTION)
    return {
        "accounts": decisions.height,
        "by_action": dict(
            zip(by_action["action"].to_list(), by_action["len"].to_list(), strict=True)
        ),
        "by_autonomy": dict(acting.group_by("autonomy").len().sort("autonomy").iter_rows()),
        "expected_value": float(acting["expected_value"].sum()) if acting.height else 0.0,
        "holdout": int(decisions["holdout"].sum()),
        "explored": int(decisions["explored"].sum()),
        "breaches": breaches,
    }
