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

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.special import ndtr

from nextmove.decisions.allocation import Capacity, allocate
from nextmove.decisions.candidates import ActionSpec, Catalog, action_specs
from nextmove.decisions.columns import nulls_filled, rows_where, take_rows
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
from nextmove.governance.guardrails import apply_guardrails, columns_read
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
    read = {"account_id", "owner_id", "segment", "action", *columns_read(policy.rules)}
    needed = (read | {c for limit in policy.capacities for c in limit.columns}) & set(frame.columns)
    accounts = frame[[c for c in frame.columns if c in needed]]
    grouped = {c for limit in limits.values() for c in limit.columns}
    kept = sorted(({"account_id"} | grouped) & set(accounts.columns) - set(CANDIDATE_COLUMNS))
    screened = screen_candidates(
        accounts, scored, catalog, specs, playbook, demoted or {}, policy, kept
    )
    allowed = _with_confidence(screened.allowed, scored, specs)
    holdout = in_holdout(frame["account_id"], playbook.measurement.holdout_share)
    clearing = _options(allowed, playbook, holdout, specs)
    options = take_rows(allowed, clearing)
    epsilon = playbook.measurement.exploration_budget
    explore_draw, pick_draw = exploration_draws(frame["account_id"], context.as_of)
    explores = (explore_draw < epsilon) & ~holdout
    explorable = _explorable(allowed, clearing)
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
        return allowed.hstack([pl.Series("confidence", (ev > 0).astype(np.float64))])
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
    return allowed.hstack([pl.Series("confidence", confidence)])


# --- choosing --------------------------------------------------------------------------


def _options(
    allowed: pl.DataFrame, playbook: Playbook, holdout: Bools, specs: Sequence[ActionSpec]
) -> Ints:
    """The positions in ``allowed`` of the candidates that clear the thresholds, outside
    the holdout (compared as polars compares: NaN above every number)."""
    if allowed.height == 0:
        return np.zeros(0, np.int64)
    thresholds = playbook.thresholds
    least_value, least_confidence = [], []
    for spec in specs or [NOTHING]:
        own = thresholds.by_action.get(spec.name)
        value = own.min_expected_value if own is not None else None
        confidence = own.min_confidence if own is not None else None
        least_value.append(thresholds.min_expected_value if value is None else value)
        least_confidence.append(thresholds.min_confidence if confidence is None else confidence)
    action = allowed["action_index"].to_numpy()
    clears = (
        (allowed["expected_value"] >= pl.Series(np.asarray(least_value, np.float64)[action]))
        & (allowed["confidence"] >= pl.Series(np.asarray(least_confidence, np.float64)[action]))
        & (allowed["score"] > 0)
    )
    return np.flatnonzero(_flags(clears) & ~holdout[allowed["row"].to_numpy()])


def _flags(flags: pl.Series) -> Bools:
    """True where ``flags`` is true (not false or null)."""
    return np.asarray(nulls_filled(flags, False).to_numpy(), dtype=np.bool_)


@dataclass(frozen=True)
class _Demand:
    """What options ask of the capacities."""

    uses: pl.Series
    """Per option, the constraint ids (``<rule id>:<group>``) of the limits concerning it."""
    capacities: list[Capacity]
    """The limit of every group some option is in (unlimited ones left out), by id."""

    def counted(self, options: Ints | None = None) -> Counter[str]:
        """How many of the options (or those at ``options``) use each constraint."""
        uses = self.uses if options is None else self.uses[options]
        return Counter(constraint for listed in uses.to_list() for constraint in listed)

    def binds(self) -> bool:
        """Whether some group has more options than its limit: only then does the
        allocation have anything to weigh."""
        limit = {capacity.constraint_id: capacity.limit for capacity in self.capacities}
        return any(count > limit.get(c, count) for c, count in self.counted().items())


def _demand(options: pl.DataFrame, limits: Mapping[str, CapacityLimit]) -> _Demand:
    """Which groups of which limits each option is in, and the limits of those groups.

    A limit concerns the options of its actions (any but no_action when it names none);
    an option's group is the group column's value as text (``∅``: null).
    """
    if options.height > _FEW:
        return _many_demand(options, limits)
    # Few options (deciding one account): worked out in Python, no query.
    actions = options["action"].to_list()
    capacities: dict[str, int] = {}
    ids: list[list[str | None]] = []
    for rule_id, limit in limits.items():
        assert not isinstance(limit.limits, str)
        groups = _groups_in(options, limit, actions)
        ids.append([None if group is None else f"{rule_id}:{group}" for group in groups])
        for group in {group for group in groups if group is not None}:
            cap = limit.limits[group] if group in limit.limits else limit.default
            if cap is not None:
                capacities[f"{rule_id}:{group}"] = int(cap)
    listed = [[c for c in row if c is not None] for row in zip(*ids, strict=True)] or [
        [] for _ in actions
    ]
    uses = pl.Series("uses", listed, dtype=pl.List(pl.String))
    return _Demand(uses, [Capacity(c, v) for c, v in sorted(capacities.items())])


def _groups_in(
    options: pl.DataFrame, limit: CapacityLimit, actions: list[str | None]
) -> list[str | None]:
    """Each of a few options' group under ``limit`` as text (``∅``: null), or None where the
    limit does not concern it; ``actions`` are the options' actions."""
    groups = options[limit.group].cast(pl.String).to_list()
    return [
        ("∅" if group is None else group)
        if action is not None
        and (action != NO_ACTION if limit.actions is None else action in limit.actions)
        else None
        for action, group in zip(actions, groups, strict=True)
    ]


def _many_demand(options: pl.DataFrame, limits: Mapping[str, CapacityLimit]) -> _Demand:
    """:func:`_demand` of many options: one query for the uses, one per limit for its groups."""
    capacities: dict[str, int] = {}
    parts = []
    for rule_id, limit in limits.items():
        group = options[limit.group].cast(pl.String).fill_null("∅")
        concerned = (
            options["action"].is_in(list(limit.actions))
            if limit.actions is not None
            else options["action"] != NO_ACTION
        )
        ids = (rule_id + ":" + group).alias("c")
        parts.append(pl.when(concerned).then(ids).otherwise(None))
        assert not isinstance(limit.limits, str)
        for value in group.filter(concerned).unique().to_list():
            cap = limit.limits.get(value, limit.default)
            if cap is not None:
                capacities[f"{rule_id}:{value}"] = int(cap)
    listed = pl.concat_list(parts).list.drop_nulls() if parts else pl.lit([], pl.List(pl.String))
    uses = options.with_columns(listed.alias("uses"))["uses"]
    return _Demand(uses, [Capacity(c, v) for c, v in sorted(capacities.items())])


_FEW = 1_000
"""Up to this many options are counted in Python rather than by polars queries."""


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
        take_rows(options, np.flatnonzero(~explores[options["row"].to_numpy()]))
        if options.height
        else options
    )
    if deciding.height == 0:
        return _after(taken, deciding), _NO_PRICES
    demand = _demand(deciding, remaining)
    finite = np.isfinite(deciding["score"].to_numpy()).all()  # else allocate() says why not
    if deciding.height <= _FEW and finite and not demand.binds():
        # Nothing to weigh: each account takes its best option, as the allocation would.
        best = _best_positions(deciding)
        return _after(taken, take_rows(deciding, best)), _unpriced(demand, best)
    numbered = deciding.with_row_index("option")
    ranked = numbered.select("account_id", "option", pl.col("score").alias("value")).hstack(
        [demand.uses]
    )
    result = allocate(ranked, demand.capacities)
    chosen = numbered.join(result.chosen.select("option"), on="option").drop("option")
    return pl.concat([taken, chosen], how="diagonal_relaxed"), result.shadow_prices


def _best_positions(options: pl.DataFrame) -> Ints:
    """Each account's option with the highest score (the first of equals), if positive."""
    score, row = options["score"].to_numpy(), options["row"].to_numpy()
    order = np.lexsort((np.arange(len(row)), -score, row))
    first = order[np.r_[True, row[order][1:] != row[order][:-1]]]
    return np.sort(first[score[first] > 0])


def _unpriced(demand: _Demand, best: Ints) -> pl.DataFrame:
    """The shadow prices where no capacity binds: how much of each the ``best`` use, at 0."""
    used = demand.counted(best)
    ids = [capacity.constraint_id for capacity in demand.capacities]
    return pl.DataFrame(
        [
            pl.Series("constraint_id", ids, dtype=pl.String),
            pl.Series("limit", [capacity.limit for capacity in demand.capacities], pl.Int64),
            pl.Series("used", [used[c] for c in ids], dtype=pl.Int64),
            pl.Series("shadow_price", [0.0] * len(ids), dtype=pl.Float64),
            pl.Series("binding", [False] * len(ids), dtype=pl.Boolean),
        ]
    )


def _after(taken: pl.DataFrame, chosen: pl.DataFrame) -> pl.DataFrame:
    """``chosen`` below ``taken``, as their diagonal concatenation (without a query when
    nothing was taken and ``chosen`` has ``taken``'s first columns)."""
    columns = list(taken.schema.items())
    if taken.height or columns[: chosen.width] != list(chosen.schema.items()):
        return pl.concat([taken, chosen], how="diagonal_relaxed")
    rest = columns[chosen.width :]
    return chosen.hstack(
        [pl.Series(c, [None], d).new_from_index(0, chosen.height) for c, d in rest]
    )


def _within_capacity(picks: pl.DataFrame, limits: Mapping[str, CapacityLimit]) -> pl.DataFrame:
    """The exploration picks that fit the capacities, in the order drawn."""
    if picks.height == 0:
        return picks
    demand = _demand(picks, limits)
    if picks.height <= _FEW and not demand.binds():
        return picks  # one pick per account: every one fits
    numbered = picks.with_row_index("option")
    ranked = numbered.select("account_id", "option", pl.lit(1.0).alias("value"))
    result = allocate(ranked.hstack([demand.uses]), demand.capacities)
    return numbered.join(result.chosen.select("option"), on="option").drop("option")


def _less(limits: Mapping[str, CapacityLimit], taken: pl.DataFrame) -> dict[str, CapacityLimit]:
    """The limits with what ``taken`` uses subtracted, per group."""
    if taken.height == 0:
        return dict(limits)
    reduced = {}
    actions = taken["action"].to_list() if taken.height <= _FEW else []
    for rule_id, limit in limits.items():
        assert not isinstance(limit.limits, str)
        used: Counter[str]
        if taken.height <= _FEW:  # counted in Python
            groups = _groups_in(taken, limit, actions)
            used = Counter(group for group in groups if group is not None)
        else:
            concerned = taken.filter(
                pl.col("action").is_in(list(limit.actions))
                if limit.actions is not None
                else pl.col("action") != NO_ACTION
            )
            grouped = concerned.group_by(pl.col(limit.group).cast(pl.String).fill_null("∅"))
            used = Counter(dict(grouped.len().iter_rows()))
        room = dict(limit.limits)
        for group, count in used.items():
            base = room[group] if group in room else limit.default
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


def _explorable(allowed: pl.DataFrame, options: Ints) -> pl.DataFrame:
    """What exploration draws from: allowed moves with a fair chance of paying off (or
    that the engine would make anyway, ``options`` in ``allowed``), so exploring does not
    pay for hopeless moves; by account, then action."""
    if allowed.height == 0:
        return allowed
    drawn = _flags(allowed["confidence"] >= EXPLORATION_MIN_CONFIDENCE)
    drawn[options] = True
    at = np.flatnonzero(drawn)
    order = np.lexsort((allowed["action_index"].to_numpy()[at], allowed["row"].to_numpy()[at]))
    return take_rows(allowed, at[order])


def _exploration_picks(allowed: pl.DataFrame, explores: Bools, draw: Floats) -> pl.DataFrame:
    """The option each exploring account draws (dropped when it drew doing nothing)."""
    pool = take_rows(allowed, np.flatnonzero(explores[allowed["row"].to_numpy()]))
    if pool.height == 0:  # the usual case when deciding one account
        return pool.hstack([pl.Series("explored", [], dtype=pl.Boolean)])
    # The account's options in order of action name: doing nothing is the last slot.
    counted = pool[pool.select(pl.arg_sort_by("row", "action")).to_series().to_numpy()]
    row = counted["row"].to_numpy()
    starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
    sizes = np.diff(np.r_[starts, len(row)])
    position = np.arange(len(row)) - np.repeat(starts, sizes)
    options = np.repeat(sizes + 1, sizes).astype(np.uint32)
    slot = np.floor(draw[row] * options).astype(np.int64)
    drawn = np.flatnonzero(position == slot)
    return counted[drawn].hstack(
        [
            pl.Series("options", options[drawn], dtype=pl.UInt32),
            pl.Series("explored", np.ones(len(drawn), dtype=np.bool_)),
        ]
    )


# --- the decisions -----------------------------------------------------------------------
