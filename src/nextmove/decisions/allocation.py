"""Allocation under capacity: at most one option per account, the most value in total, and
never more options on a capacity than its limit.

Exactly, this is an integer programme; at millions of options it is solved through prices
instead. Each limited capacity gets a price λ ≥ 0 in value units, and at given prices every
account on its own takes the option with the largest *net value* (its value less the
prices of the capacities it uses) when that is positive. A capacity's price is set where
its limit meets its demand: at the (limit + 1)-th largest *marginal surplus* among the
accounts that want it, the net value of an account's best option on the capacity (before
that capacity's own price) less its best alternative off it. All prices move together,
damped, for a few dozen rounds (coordinate minimisation of the Lagrangian dual, done for
every capacity at once). The dual value at the final prices, ``Σ λ·limit + Σ max(0, best
net value)``, bounds the optimum from above for any prices, so the gap to it is known.

Prices alone can tie or overshoot at the margin, so a repair makes the choice feasible:
accounts whose choice sits on an over-full capacity give it up, and are reassigned greedily
by net value to their best option that still has room on every capacity it uses; spare
capacity then goes, again greedily, to the accounts it gains the most value. No capacity is
ever exceeded, whatever the prices.

Why it is fast: an account can only sway a price if one of its options is among the most
valuable on that capacity, so the rounds run on those accounts alone; a pass over every
account then checks that none of the others would take a limited capacity at the prices
found, and adds any that would before pricing again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["Allocation", "Capacity", "allocate"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]

_REQUIRED = ("account_id", "option", "value", "uses")
_DAMPING = 0.5
"""Share of the way to its target a price moves each round: coupled capacities (a team and
its owners) would otherwise overshoot each other and oscillate."""
_TOLERANCE = 1e-9
_INSIDE = float(__import__("os").environ.get("INSIDE", "0.5"))
_MAX_PASSES = 8
"""Rounds of pricing at most, each followed by the check over every account."""
_BINS = 256
"""Value bins per capacity when picking the accounts that take part in the rounds."""


@dataclass(frozen=True, slots=True)
class Capacity:
    """At most ``limit`` chosen options may use the constraint ``constraint_id``."""

    constraint_id: str
    limit: int

    def __post_init__(self) -> None:
        if not self.constraint_id:
            raise ValueError("a capacity needs a non-empty constraint_id")
        if self.limit < 0:
            raise ValueError(f"capacity {self.constraint_id}: limit must be >= 0")


@dataclass(frozen=True, slots=True)
class Allocation:
    """The options chosen, the capacities' prices, and how far from optimal it can be."""

    chosen: pl.DataFrame
    """The chosen input rows, one per account at most, by account_id then option, with
    ``net_value``: value less the shadow prices of the capacities the option uses."""
    shadow_prices: pl.DataFrame
    """Per capacity, in the order given: ``constraint_id``, ``limit``, ``used``,
    ``shadow_price`` (value of one more unit) and ``binding`` (its price is positive)."""
    upper_bound: float
    """No allocation is worth more than this (the Lagrangian dual at the prices)."""
    total_value: float

    @property
    def gap(self) -> float:
        """Return the share of the upper bound that the allocation may leave unrealised."""
        if self.upper_bound <= 0:
            return 0.0
        return max(self.upper_bound - self.total_value, 0.0) / self.upper_bound


def allocate(
    options: pl.DataFrame, capacities: Sequence[Capacity], *, max_rounds: int = 50
) -> Allocation:
    """Return the choice of at most one option per account that is worth the most in total.

    ``options`` has one row per (account, option): ``account_id`` (str), ``option`` (int,
    unique within the account), ``value`` (the option's expected incremental value; only
    positive values are ever chosen) and ``uses`` (the constraint ids the option takes one
    unit of; a constraint listed twice counts once). Constraints absent from
    ``capacities`` are unlimited, so without limits every account gets its best positive
    option. Ties go to the smaller option, and between accounts to the smaller account_id.
    ``max_rounds`` bounds the price updates of each pricing pass.
    """
    limits = _limits(capacities)
    problem = _encode(options, limits)
    prices = _solve_prices(problem, max_rounds)
    chosen = _repair(problem, prices)
    return _report(options, problem, capacities, prices, chosen)


def _limits(capacities: Sequence[Capacity]) -> dict[str, int]:
    limits: dict[str, int] = {}
    for capacity in capacities:
        if capacity.constraint_id in limits:
            raise ValueError(f"duplicate capacity: {capacity.constraint_id}")
        limits[capacity.constraint_id] = capacity.limit
    return limits


@dataclass(frozen=True, slots=True)
class _Problem:
    """The options worth choosing (value > 0), grouped by account, and what they use."""

    value: Floats
    account: Ints
    """Each option's account, numbered by account_id; options run by account then option."""
    starts: Ints
    """Each account's first option."""
    row: Ints
    """Each option's row in the caller's frame."""
    pair_option: Ints
    pair_constraint: Ints
    """The (option, constraint) uses of limited capacities, sorted; the rounds price these."""
    limit: Ints
    every_option: Ints
    every_constraint: Ints
    """Every use of a listed capacity, for counting; includes ones that can never bind."""

    @property
    def keys(self) -> Ints:
        """The priced uses as sorted ``option * constraints + constraint`` keys."""
        keys: Ints = self.pair_option * len(self.limit) + self.pair_constraint
        return keys

    def best(self, prices: Floats) -> tuple[Floats, Floats, Ints]:
        """Return each option's net value, each account's best one, and its position.

        The position is -1 where the best net value is not positive; ties go to the first.
        """
        penalty = np.bincount(
            self.pair_option, prices[self.pair_constraint], minlength=len(self.value)
        )
        net: Floats = self.value - penalty
        if not len(net):
            return net, net, self.starts
        best: Floats = np.maximum.reduceat(net, self.starts)
        hits = np.flatnonzero(net == best[self.account])
        first = hits[np.r_[True, self.account[hits][1:] != self.account[hits][:-1]]]
        choice: Ints = np.where(best > 0, first, -1)
        return net, best, choice

    def restrict(self, accounts: Flags) -> _Problem:
        """Return the problem of the flagged accounts alone (``row`` maps back to options)."""
        kept = accounts[self.account]
        renumber = np.cumsum(kept) - 1
        account = (np.cumsum(accounts) - 1)[self.account[kept]]
        uses = kept[self.pair_option]
        return _Problem(
            value=self.value[kept],
            account=account,
            starts=np.flatnonzero(np.r_[True, account[1:] != account[:-1]]),
            row=np.flatnonzero(kept),
            pair_option=renumber[self.pair_option[uses]],
            pair_constraint=self.pair_constraint[uses],
            limit=self.limit,
            every_option=self.every_option[:0],
            every_constraint=self.every_constraint[:0],
        )


def _encode(options: pl.DataFrame, limits: dict[str, int]) -> _Problem:
    """Number the accounts, options and capacities; keep the options with positive value."""
    missing = [column for column in _REQUIRED if column not in options.columns]
    if missing:
        raise ValueError(f"options lack columns: {', '.join(missing)}")
    nulls = [column for column in _REQUIRED if options[column].null_count()]
    if nulls:
        raise ValueError(f"options have nulls in: {', '.join(nulls)}")
    frame = options.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("row"),
        pl.col("account_id").cast(pl.String),
        pl.col("option").cast(pl.Int64),
        pl.col("value").cast(pl.Float64),
        "uses",
    )
    if frame["value"].is_nan().any():
        raise ValueError("options have NaN values")
    frame = frame.filter(pl.col("value") > 0)
    account, option = pl.col("account_id"), pl.col("option")
    later = (account > account.shift()) | ((account == account.shift()) & (option > option.shift()))
    in_order = frame.select(later.fill_null(True).all()).item()
    if not in_order:
        frame = frame.sort("account_id", "option")
        if not frame.select(later.fill_null(True).all()).item():
            raise ValueError("options repeat an (account_id, option) pair")
    new_account = (account != account.shift()).fill_null(True)
    starts = np.flatnonzero(frame.select(new_account).to_series().to_numpy())
    account_of = np.cumsum(np.bincount(starts, minlength=frame.height)) - 1
    every_option, every_constraint = _uses(frame["uses"], limits)
    limit = np.array(list(limits.values()), dtype=np.int64)
    # A capacity that fewer options use than its limit allows can never bind.
    can_bind = np.bincount(every_constraint, minlength=len(limit)) > limit
    priced = can_bind[every_constraint]
    return _Problem(
        value=frame["value"].to_numpy(),
        account=account_of.astype(np.int64),
        starts=starts.astype(np.int64),
        row=frame["row"].to_numpy(),
        pair_option=every_option[priced],
        pair_constraint=every_constraint[priced],
        limit=limit,
        every_option=every_option,
        every_constraint=every_constraint,
    )


def _uses(uses: pl.Series, limits: dict[str, int]) -> tuple[Ints, Ints]:
    """Return the (option, capacity) pairs of the listed capacities, sorted and distinct."""
    counts = uses.list.len().to_numpy()
    codes = uses.explode().replace_strict(
        list(limits), list(range(len(limits))), default=None, return_dtype=pl.Int64
    )
    option = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    constraint = codes.to_numpy()
    if codes.null_count():
        listed = codes.is_not_null().to_numpy()
        option, constraint = option[listed], constraint[listed].astype(np.int64)
    keys = option * max(len(limits), 1) + constraint
    if len(keys) > 1 and not (keys[1:] > keys[:-1]).all():
        keys = np.unique(keys)
    width = max(len(limits), 1)
    return keys // width, keys % width


def _solve_prices(problem: _Problem, max_rounds: int) -> Floats:
    """Return capacity prices at which the accounts' own best choices nearly fit."""
    prices = np.zeros(len(problem.limit))
    if not len(problem.pair_option):
        return prices
    active = _likely_active(problem)
    for _ in range(_MAX_PASSES):
        market = _Market(problem.restrict(active))
        prices = market.clear(prices, max_rounds)
        _, _, choice = problem.best(prices)
        priced = np.bincount(problem.pair_option, minlength=len(problem.value)) > 0
        wants = np.zeros(len(active), np.bool_)
        takes = choice >= 0
        wants[takes] = priced[choice[takes]]
        newcomers = wants & ~active
        if not newcomers.any():
            break
        active |= newcomers
    return prices


def _likely_active(problem: _Problem) -> Flags:
    """Flag the accounts with an option among roughly the most valuable on some capacity.

    Per capacity, the top ``2 (limit + 1) + 16`` or so uses by value, found with a
    histogram of log values rather than a sort; the rest can rarely sway a price, and
    :func:`_solve_prices` adds any that do.
    """
    value = problem.value[problem.pair_option]
    constraint = problem.pair_constraint
    wanted = 2 * (problem.limit + 1) + 16
    logs = np.log(value)
    low, high = logs.min(), logs.max()
    width = (high - low) / (_BINS - 1) if high > low else 1.0
    bins = ((logs - low) / width).astype(np.int64)
    counts = np.bincount(constraint * _BINS + bins, minlength=len(problem.limit) * _BINS)
    from_top = np.cumsum(counts.reshape(-1, _BINS)[:, ::-1], axis=1)[:, ::-1]
    # The lowest bin that still has at least ``wanted`` uses at or above it.
    enough = from_top >= wanted[:, None]
    lowest = np.where(enough.any(axis=1), _BINS - 1 - np.argmax(enough[:, ::-1], axis=1), 0)
    active = np.zeros(len(problem.starts), np.bool_)
    active[problem.account[problem.pair_option[bins >= lowest[constraint]]]] = True
    return active


class _Market:
    """One account set's demand for the capacities, priced in rounds."""

    def __init__(self, problem: _Problem) -> None:
        self.problem = problem
        size = len(problem.limit)
        pair_account = problem.account[problem.pair_option]
        order = np.lexsort((problem.pair_constraint, pair_account))
        self.option = problem.pair_option[order]
        self.constraint = problem.pair_constraint[order]
        account = pair_account[order]
        new = np.r_[
            True, (account[1:] != account[:-1]) | (self.constraint[1:] != self.constraint[:-1])
        ]
        self.group_start = np.flatnonzero(new)
        self.group_account = account[new]
        self.group_constraint = self.constraint[new]
        self.keys = problem.keys
        self.size = size
        self.options_of = np.diff(np.r_[problem.starts, len(problem.value)])

    def clear(self, prices: Floats, rounds: int) -> Floats:
        """Return the prices after at most ``rounds`` damped moves toward their targets."""
        for _ in range(rounds):
            target = self.targets(prices)
            step = target - prices
            if np.abs(step).max(initial=0.0) <= _TOLERANCE * (1 + prices.max(initial=0.0)):
                break
            prices = prices + _DAMPING * step
        return prices

    def targets(self, prices: Floats) -> Floats:
        """Return each capacity's (limit + 1)-th largest marginal surplus at ``prices``."""
        problem = self.problem
        net, best, choice = problem.best(prices)
        with_own = np.maximum.reduceat(net[self.option] + prices[self.constraint], self.group_start)
        alternative = np.maximum(best, 0)[self.group_account]
        chosen = choice[self.group_account]
        clash = chosen >= 0
        clash[clash] = _contains(
            self.keys, chosen[clash] * self.size + self.group_constraint[clash]
        )
        if clash.any():
            alternative[clash] = self._best_without(
                net, self.group_account[clash], self.group_constraint[clash]
            )
        return _order_statistic(with_own - alternative, self.group_constraint, problem.limit)

    def _best_without(self, net: Floats, accounts: Ints, constraints: Ints) -> Floats:
        """Return each account's best net value (or 0) over its options off the constraint."""
        counts = self.options_of[accounts]
        begins = np.cumsum(counts) - counts
        offset = np.arange(counts.sum()) - np.repeat(begins, counts)
        option = np.repeat(self.problem.starts[accounts], counts) + offset
        on = _contains(self.keys, option * self.size + np.repeat(constraints, counts))
        best: Floats = np.maximum.reduceat(np.where(on, -np.inf, net[option]), begins)
        return np.maximum(best, 0)


def _order_statistic(surplus: Floats, constraint: Ints, limit: Ints) -> Floats:
    """Per constraint, the (limit + 1)-th largest positive surplus, else 0."""
    target = np.zeros(len(limit))
    positive = surplus > 0
    count = np.bincount(constraint[positive], minlength=len(limit))
    over = count > limit
    keep = np.flatnonzero(positive & over[constraint])
    if not len(keep):
        return target
    order = np.lexsort((-surplus[keep], constraint[keep]))
    ranked = keep[order]
    first = np.searchsorted(constraint[ranked], np.flatnonzero(over))
    outside = surplus[ranked[first + limit[over]]]
    inside = np.where(
        limit[over] > 0, surplus[ranked[first + np.maximum(limit[over] - 1, 0)]], 3 * outside
    )
    target[over] = outside + _INSIDE * (inside - outside)
    return target


def _contains(sorted_keys: Ints, keys: Ints) -> Flags:
    at = np.searchsorted(sorted_keys, keys)
    found: Flags = sorted_keys[np.minimum(at, len(sorted_keys) - 1)] == keys
    return found & (at < len(sorted_keys))


def _repair(problem: _Problem, prices: Floats) -> Ints:
    """Return each account's chosen option (or -1) at ``prices``, within every capacity."""
    net, _, choice = problem.best(prices)
    room = problem.limit.copy()
    load = _load(problem, choice)
    over = load > room
    if over.any():
        on_over = np.zeros(len(problem.value), np.bool_)
        on_over[problem.pair_option[over[problem.pair_constraint]]] = True
        losers = np.flatnonzero((choice >= 0) & on_over[np.maximum(choice, 0)])
        choice[losers] = -1
        room -= _load(problem, choice)
        _greedy(problem, choice, room, losers, priority=net)
    else:
        room -= load
    _fill(problem, choice, room)
    return choice


def _load(problem: _Problem, choice: Ints) -> Ints:
    taken = np.zeros(len(problem.value), np.bool_)
    taken[choice[choice >= 0]] = True
    load: Ints = np.bincount(
        problem.pair_constraint[taken[problem.pair_option]], minlength=len(problem.limit)
    )
    return load


def _greedy(
    problem: _Problem, choice: Ints, room: Ints, accounts: Ints, *, priority: Floats
) -> None:
    """Give the accounts, best ``priority`` first, their best option with room everywhere."""
    starts = problem.starts[accounts]
    counts = np.diff(np.r_[problem.starts, len(problem.value)])[accounts]
    begins = np.cumsum(counts) - counts
    option = np.repeat(starts, counts) + np.arange(counts.sum()) - np.repeat(begins, counts)
    order = np.lexsort((option, -priority[option]))  # options run by account, so ties too
    pair_start = np.searchsorted(problem.pair_option, np.arange(len(problem.value) + 1))
    for candidate in option[order].tolist():
        account = int(problem.account[candidate])
        if choice[account] >= 0:
            continue
        uses = problem.pair_constraint[pair_start[candidate] : pair_start[candidate + 1]]
        if (room[uses] > 0).all():
            room[uses] -= 1
            choice[account] = candidate


def _fill(problem: _Problem, choice: Ints, room: Ints) -> None:
    """Move accounts, largest gain first, to more valuable options that spare room allows.

    An option fits when each capacity it uses has room, or is one the account's current
    option uses and so gives back.
    """
    current = np.zeros(len(problem.starts))
    has = choice >= 0
    current[has] = problem.value[choice[has]]
    gain = problem.value - current[problem.account]
    full = np.flatnonzero((gain > 0)[problem.pair_option] & (room[problem.pair_constraint] <= 0))
    option, constraint = problem.pair_option[full], problem.pair_constraint[full]
    held = choice[problem.account[option]]
    given_back = held >= 0
    given_back[given_back] = _contains(
        problem.keys, held[given_back] * len(problem.limit) + constraint[given_back]
    )
    blocked = np.zeros(len(problem.value), np.bool_)
    blocked[option[~given_back]] = True
    candidates = np.flatnonzero((gain > 0) & ~blocked)
    candidates = candidates[np.lexsort((candidates, -gain[candidates]))]
    pair_start = np.searchsorted(problem.pair_option, np.arange(len(problem.value) + 1))
    for candidate in candidates.tolist():
        account = int(problem.account[candidate])
        old = int(choice[account])
        if old >= 0 and problem.value[old] >= problem.value[candidate]:
            continue
        uses = problem.pair_constraint[pair_start[candidate] : pair_start[candidate + 1]]
        freed = (
            problem.pair_constraint[pair_start[old] : pair_start[old + 1]] if old >= 0 else uses[:0]
        )
        if ((room[uses] > 0) | np.isin(uses, freed)).all():
            room[freed] += 1
            room[uses] -= 1
            choice[account] = candidate


def _report(
    options: pl.DataFrame,
    problem: _Problem,
    capacities: Sequence[Capacity],
    prices: Floats,
    choice: Ints,
) -> Allocation:
    net, best, _ = problem.best(prices)
    upper = float(prices @ problem.limit + np.maximum(best, 0).sum())
    picked = choice[choice >= 0]
    taken = np.zeros(len(problem.value), np.bool_)
    taken[picked] = True
    used = np.bincount(
        problem.every_constraint[taken[problem.every_option]], minlength=len(problem.limit)
    )
    if (used > problem.limit).any():
        raise AssertionError("allocation exceeded a capacity")  # never: the repair forbids it
    rows = pl.Series(problem.row[picked], dtype=pl.Int64)
    chosen = options.select(pl.all().gather(rows)).with_columns(
        pl.Series("net_value", net[picked], dtype=pl.Float64)
    )
    shadow = pl.DataFrame(
        {
            "constraint_id": [c.constraint_id for c in capacities],
            "limit": problem.limit,
            "used": used.astype(np.int64),
            "shadow_price": prices,
        },
        schema={
            "constraint_id": pl.String,
            "limit": pl.Int64,
            "used": pl.Int64,
            "shadow_price": pl.Float64,
        },
    ).with_columns(binding=pl.col("shadow_price") > 0)
    total = float(problem.value[picked].sum())
    return Allocation(chosen=chosen, shadow_prices=shadow, upper_bound=upper, total_value=total)
