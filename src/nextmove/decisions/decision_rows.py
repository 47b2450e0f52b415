"""One decision per account: its choice (or no_action), how likely it was, and why. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.decisions.columns import frame_at_positions
from nextmove.decisions.ranking import CandidateTable
from nextmove.decisions.reasons import offer_text, offer_words, reasons_column
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
    picked = _picked(chosen, position)
    # Only the runner-ups are worded (at most one per account), not every allowed candidate.
    if (runner_up < 0).all():  # none (deciding one account, often)
        runner_text = pl.Series("runner_up", [None], dtype=pl.String).new_from_index(0, n)
    else:
        runner_text = _runner_texts(allowed, runner_up)
    facts = pl.DataFrame(
        [
            picked["action"],
            picked["product_id"],
            picked["expected_value"],
            picked["uplift"],
            picked["value"],
            pl.Series("holdout", draws.holdout),
            pl.Series("explored", draws.explores),
            runner_text.alias("runner_up"),
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
            picked["score"],
            facts["uplift"],
            picked["confidence"],
            pl.Series("propensity", propensity),
            facts["explored"],
            facts["holdout"],
            picked["autonomy"],
            frame["owner_id"],
            reasons_column(facts),
        ]
    )


@cache
def _offer() -> pl.Expr:
    """A runner-up in a few words (built once)."""
    return offer_text(pl.col("action"), pl.col("product_id"), pl.col("expected_value"))


def _runner_texts(allowed: pl.DataFrame, runner_up: Ints) -> pl.Series:
    """Each account's runner-up in a few words (null: none); worded in Python for a few."""
    if len(runner_up) <= _FEW:
        listed = [allowed[c].to_list() for c in ("action", "product_id", "expected_value")]
        try:
            words = [None if at < 0 else offer_words(*(c[at] for c in listed)) for at in runner_up]
            return pl.Series("runner_up", words, dtype=pl.String)
        except ValueError:  # a value polars words its own way
            pass
    runners = frame_at_positions(allowed["action", "product_id", "expected_value"], runner_up)
    return runners.select(_offer()).to_series()


def _picked(chosen: pl.DataFrame, position: Ints) -> pl.DataFrame:
    """What each account's decision takes from its chosen candidate (-1: none, no_action)."""
    if not chosen.height:  # nothing chosen: no_action everywhere, without a query
        schema = chosen.schema  # built anew on each access
        nothing = _nothing_chosen(tuple(schema[name] for name in _DECIDED))
        if len(position) == 1:  # one account
            return nothing
        return pl.DataFrame([column.new_from_index(0, len(position)) for column in nothing])
    decided = chosen[list(_DECIDED)]
    if (position >= 0).all() and not any(decided.null_count().row(0)):
        return decided[position]  # nothing to fill
    return frame_at_positions(decided, position).with_columns(
        pl.col("action").fill_null(NO_ACTION),
        pl.col("expected_value", "uplift", "score").fill_null(0.0),
        pl.col("confidence").fill_null(1.0),
        pl.col("autonomy").fill_null(AutonomyLevel.AUTO.value),
    )


@lru_cache(maxsize=8)
def _nothing_chosen(dtypes: tuple[pl.DataType, ...]) -> pl.DataFrame:
    """One decision without a chosen candidate: no_action (null where nothing is said)."""
    return pl.DataFrame(
        [
            pl.Series(name, [_NOTHING_CHOSEN.get(name)], dtype=dtype)
            for name, dtype in zip(_DECIDED, dtypes, strict=True)
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
_NOTHING_CHOSEN: dict[str, object] = {
    "action": NO_ACTION,
    "expected_value": 0.0,
    "uplift": 0.0,
    "score": 0.0,
    "confidence": 1.0,
    "autonomy": AutonomyLevel.AUTO.value,
}
"""What a decision without a chosen candidate reads (null for the rest)."""


def _ints(series: pl.Series) -> Ints:
    return np.asarray(series.to_numpy(), dtype=np.int64)


def summary_of(decisions: pl.DataFrame, breaches: int) -> dict[str, object]:
    """The run's counts by action and autonomy (acting decisions), and its totals."""
    by_action: dict[str, int] = {}
    by_autonomy: dict[str, int] = {}
    for action, autonomy, count in _pairs(decisions):
        by_action[action] = by_action.get(action, 0) + count
        if action != NO_ACTION:
            by_autonomy[autonomy] = by_autonomy.get(autonomy, 0) + count
    acting = decisions["action"] != NO_ACTION
    expected_value = decisions["expected_value"].filter(acting).sum()
    return {
        "accounts": decisions.height,
        "by_action": dict(sorted(by_action.items())),
        "by_autonomy": dict(sorted(by_autonomy.items())),
        "expected_value": float(expected_value),
        "holdout": int(decisions["holdout"].sum()),
        "explored": int(decisions["explored"].sum()),
        "breaches": breaches,
    }


def _pairs(decisions: pl.DataFrame) -> list[tuple[str, str, int]]:
    """How many decisions have each (action, autonomy) pair."""
    if decisions.height > _FEW:  # few pairs: counted once, then summed up by the caller
        return decisions.group_by("action", "autonomy").len().rows()
    counted = Counter(
        zip(decisions["action"].to_list(), decisions["autonomy"].to_list(), strict=True)
    )
    return [(action, autonomy, count) for (action, autonomy), count in counted.items()]


_FEW = 1_000
"""Up to this many decisions are counted in Python rather than by a polars query."""
