"""Allocation under capacity: at most one option per account, the most value in total, and
never more chosen options on a capacity than its limit.

Exactly, this is an integer programme; at millions of options it is solved through prices
instead. Each capacity that can bind gets a price λ ≥ 0 in value units, and at given prices
every account on its own takes the option with the largest *net value* (its value less the
prices of the capacities it uses) when that is positive. A capacity's price is set where
its limit meets its demand: between the limit-th and (limit + 1)-th largest *marginal
surplus* among the accounts that want it, an account's surplus being the net value of its
best option on the capacity (before that capacity's own price) less its best alternative
off it. That is the exact minimum of the Lagrangian dual along the one price; all prices
take such a step together, damped, for a few dozen rounds. The dual value, ``Σ λ·limit +
Σ max(0, best net value)``, bounds the optimum from above at any prices, so the gap between
the choice and what any choice could be worth is known.

Prices alone leave ties at the margin (there the dual's minimum makes accounts
indifferent), and short of convergence may overshoot, so a repair decides what they do not,
checking room before every move so that no capacity is ever exceeded, whatever the prices.
Accounts whose best net value clearly wins keep it, unless that overfills a capacity; tied
accounts are settled next, the more valuable option first and capacities with room for
every contender before contested ones; accounts that lost their option go last, best net
value first. Then single exchanges (an account takes a full capacity's unit from the
holder that loses least by falling back) and spare room, largest gain first, recover what
the greedy steps missed.

Why it is fast: an account can only sway a price if one of its options is among the most
valuable on that capacity, so the rounds run on those accounts alone; a pass over every
account then checks that no other account would take a priced capacity at the prices
found, and adds any that would before pricing again.
"""

from __future__ import annotations

from collections import deque
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
_FIRST_SHARE = 0.5
"""Share of the way to its target a price first moves in a round; see :meth:`_Market.clear`."""
_MIN_SHARE = 1 / 64
_TOLERANCE = 1e-7
"""Prices are final once no round would move one by more than this share of itself."""
_TIE = 1e-6
"""Net values this close, as a share of the value and prices they net, count as a tie."""
_MAX_PASSES = 8
"""Pricing passes at most, each followed by the check over every account."""
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
    """The chosen input rows, at most one per account, by account_id then option, with
    ``net_value``: the value less the shadow prices of the capacities the option uses."""
    shadow_prices: pl.DataFrame
    """Per capacity, in the order given: ``constraint_id``, ``limit``, ``used``,
    ``shadow_price`` (the value of one more unit) and ``binding`` (the price is positive)."""
    upper_bound: float
    """No choice within the capacities is worth more (the Lagrangian dual at the prices)."""
    total_value: float

    @property
    def gap(self) -> float:
        """Return the share of the upper bound that the choice may leave unrealised."""
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
    unit of; an id listed twice counts once). Constraints absent from ``capacities`` are
    unlimited, so without limits every account gets its best positive option. Ties go to
    the smaller option, and between accounts to the smaller account_id. ``max_rounds``
    bounds the price updates of each pricing pass; with 0, every price stays 0 and the
    repair alone decides, much as taking options by value while there is room.
    """
    if max_rounds < 0:
        raise ValueError("max_rounds must be >= 0")
    encoded = _encode(options, _limits(capacities))
    problem = encoded.problem
    prices = _solve_prices(problem, max_rounds)
    net, best, choice = problem.best(prices)
    upper_bound = float(prices @ problem.limit + np.maximum(best, 0).sum())
    choice = _repair(problem, prices, net, best, choice)
    return _report(options, encoded, capacities, prices, choice, net, best, upper_bound)


def _limits(capacities: Sequence[Capacity]) -> dict[str, int]:
    limits: dict[str, int] = {}
    for capacity in capacities:
        if capacity.constraint_id in limits:
            raise ValueError(f"duplicate capacity: {capacity.constraint_id}")
        limits[capacity.constraint_id] = capacity.limit
    return limits


class _Problem:
    """The options worth choosing (value > 0), grouped by account, and the uses of the
    capacities that can bind: only those are priced."""

    __slots__ = (
        "account",
        "limit",
        "options_of",
        "pair_constraint",
        "pair_option",
        "pair_start",
        "starts",
        "value",
    )

    def __init__(
        self, value: Floats, account: Ints, pair_option: Ints, pair_constraint: Ints, limit: Ints
    ) -> None:
        self.value = value
        self.account = account
        """Each option's account, numbered by account_id; options run by account, option."""
        self.pair_option = pair_option
        self.pair_constraint = pair_constraint
        """The (option, constraint) uses, sorted by option then constraint."""
        self.limit = limit
        self.starts: Ints = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
        if not len(account):
            self.starts = account[:0]
        """Each account's first option."""
        self.options_of: Ints = np.diff(np.r_[self.starts, len(value)])
        uses_of = np.bincount(pair_option, minlength=len(value))
        self.pair_start: Ints = np.r_[0, np.cumsum(uses_of)]
        """Where each option's uses begin in ``pair_option``; one more at the end."""

    def uses(self, option: Ints, constraint: Ints) -> Flags:
        """True where the option uses the constraint."""
        found = np.zeros(len(option), np.bool_)
        at, end = self.pair_start[option], self.pair_start[option + 1]
        live = np.flatnonzero(at < end)
        while len(live):  # an option uses few capacities: one pass per use
            hit = self.pair_constraint[at[live]] == constraint[live]
            found[live[hit]] = True
            at[live] += 1
            live = live[~hit & (at[live] < end[live])]
        return found

    def uses_of(self, option: int) -> Ints:
        """Return the constraints one option uses."""
        used: Ints = self.pair_constraint[self.pair_start[option] : self.pair_start[option + 1]]
        return used

    def best(self, prices: Floats) -> tuple[Floats, Floats, Ints]:
        """Return each option's net value, each account's best one, and that option.

        The option is -1 where the best net value is not positive; ties go to the first.
        """
        penalty = np.bincount(
            self.pair_option, prices[self.pair_constraint], minlength=len(self.value)
        )
        net: Floats = self.value - penalty
        if not len(net):
            return net, net, self.starts
        best: Floats = np.maximum.reduceat(net, self.starts)
        choice: Ints = np.where(best > 0, self.top(net, best), -1)
        return net, best, choice

    def top(self, net: Floats, best: Floats) -> Ints:
        """Return each account's first option with its best net value."""
        hits = np.flatnonzero(net == best[self.account])
        if not len(hits):
            return self.starts
        first: Ints = hits[np.r_[True, self.account[hits][1:] != self.account[hits][:-1]]]
        return first

    def room(self, choice: Ints) -> Ints:
        """Return each constraint's limit less the chosen options that use it."""
        taken = np.zeros(len(self.value), np.bool_)
        taken[choice[choice >= 0]] = True
        load = np.bincount(self.pair_constraint[taken[self.pair_option]], minlength=len(self.limit))
        room: Ints = self.limit - load
        return room

    def restrict(self, accounts: Flags) -> _Problem:
        """Return the problem of the flagged accounts alone."""
        kept = accounts[self.account]
        uses = kept[self.pair_option]
        return _Problem(
            self.value[kept],
            (np.cumsum(accounts) - 1)[self.account[kept]],
            (np.cumsum(kept) - 1)[self.pair_option[uses]],
            self.pair_constraint[uses],
            self.limit,
        )


@dataclass(frozen=True, slots=True)
class _Encoded:
    problem: _Problem
    row: Ints
    """Each option's row in the caller's frame."""
    counted_option: Ints
    counted_constraint: Ints
    """Every use of a listed capacity, including those that can never bind."""


def _encode(options: pl.DataFrame, limits: dict[str, int]) -> _Encoded:
    """Number the accounts, options and capacities; keep the options with positive value."""
    missing = [column for column in _REQUIRED if column not in options.columns]
    if missing:
        raise ValueError(f"options lack columns: {', '.join(missing)}")
    nulls = [column for column in _REQUIRED if options[column].null_count()]
    if nulls:
        raise ValueError(f"options have nulls in: {', '.join(nulls)}")
    frame = options.select(
        pl.col("account_id").cast(pl.String),
        pl.col("option").cast(pl.Int64),
        pl.col("value").cast(pl.Float64),
    )
    if not frame["value"].is_finite().all():
        raise ValueError("options have NaN or infinite values")
    row = np.arange(frame.height, dtype=np.int64)
    account, option = pl.col("account_id"), pl.col("option")
    later = (account > account.shift()) | ((account == account.shift()) & (option > option.shift()))
    if not frame.select(later.fill_null(True).all()).item():
        frame = frame.with_row_index("row").sort("account_id", "option")
        if not frame.select(later.fill_null(True).all()).item():
            raise ValueError("options repeat an (account_id, option) pair")
        row = frame["row"].to_numpy().astype(np.int64)
    value = frame["value"].to_numpy()
    first = frame.select((account != account.shift()).fill_null(True)).to_series().to_numpy()
    positive = value > 0
    # Accounts with no positive option drop out; the rest are numbered densely.
    account_of = (np.cumsum(first) - 1)[positive]
    if len(account_of):
        account_of = np.cumsum(np.r_[True, account_of[1:] != account_of[:-1]]) - 1
    position = np.full(frame.height, -1, np.int64)
    position[row[positive]] = np.arange(int(positive.sum()))
    counted_option, counted_constraint = _uses(options["uses"], limits, position)
    limit = np.array(list(limits.values()), dtype=np.int64)
    # A capacity that no more options use than its limit allows can never bind.
    can_bind = np.bincount(counted_constraint, minlength=len(limit)) > limit
    priced = can_bind[counted_constraint]
    problem = _Problem(
        value[positive],
        account_of.astype(np.int64),
        counted_option[priced],
        counted_constraint[priced],
        limit,
    )
    return _Encoded(problem, row[positive], counted_option, counted_constraint)


def _uses(uses: pl.Series, limits: dict[str, int], position: Ints) -> tuple[Ints, Ints]:
    """Return the (option, capacity) pairs of the listed capacities, sorted and distinct.

    ``position`` maps each row of ``uses`` to its option, or -1 for rows left out.
    """
    if not limits:
        return position[:0], position[:0]
    uses = uses.cast(pl.List(pl.String))
    option = np.repeat(position, uses.list.len().to_numpy())
    codes = uses.explode().cast(pl.Enum(list(limits)), strict=False).to_physical()
    constraint = codes.cast(pl.Int64).fill_null(-1).to_numpy()  # -1: not a listed capacity
    keep = (constraint >= 0) & (option >= 0)
    option, constraint = option[keep], constraint[keep]
    step = np.diff(option)
    if ((step > 0) | ((step == 0) & (np.diff(constraint) > 0))).all():
        return option, constraint
    keys = np.unique(option * len(limits) + constraint)
    return keys // len(limits), keys % len(limits)


def _solve_prices(problem: _Problem, max_rounds: int) -> Floats:
    """Return capacity prices at which the accounts' own best choices nearly fit."""
    prices = np.zeros(len(problem.limit))
    if not len(problem.pair_option) or not max_rounds:
        return prices
    # A zero limit shuts its options out: a price above every value, held fixed (moving it
    # with the others can stall them where an account is indifferent to such an option).
    prices[problem.limit == 0] = 2 * problem.value.max() + 1
    priced = np.diff(problem.pair_start) > 0
    active = _likely_active(problem)
    for _ in range(_MAX_PASSES):
        prices = _Market(problem.restrict(active)).clear(prices, max_rounds)
        _, _, choice = problem.best(prices)
        takes = choice >= 0
        wants = np.zeros(len(active), np.bool_)
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
    logs = np.log(problem.value)
    low, high = logs.min(), logs.max()
    width = (high - low) / (_BINS - 1) if high > low else 1.0
    bins = ((logs - low) / width).astype(np.int64)[problem.pair_option]
    constraint = problem.pair_constraint
    counts = np.bincount(constraint * _BINS + bins, minlength=len(problem.limit) * _BINS)
    from_top = np.cumsum(counts.reshape(-1, _BINS)[:, ::-1], axis=1)[:, ::-1]
    # The highest bin with at least ``wanted`` uses at or above it, else the lowest.
    enough = from_top >= (2 * (problem.limit + 1) + 16)[:, None]
    lowest = np.where(enough.any(axis=1), _BINS - 1 - np.argmax(enough[:, ::-1], axis=1), 0)
    active = np.zeros(len(problem.starts), np.bool_)
    active[problem.account[problem.pair_option[bins >= lowest[constraint]]]] = True
    return active


class _Market:
    """One set of accounts' demand for the capacities, priced in rounds.

    Demand is read per (account, constraint) group: the account's uses of the constraint.
    """

    def __init__(self, problem: _Problem) -> None:
        self.problem = problem
        pair_account = problem.account[problem.pair_option]
        order = np.lexsort((problem.pair_constraint, pair_account))
        self.option = problem.pair_option[order]
        self.constraint = problem.pair_constraint[order]
        account = pair_account[order]
        new = np.r_[True, (account[1:] != account[:-1]) | (np.diff(self.constraint) != 0)]
        self.group_start = np.flatnonzero(new)
        self.group_account = account[new]
        self.group_constraint = self.constraint[new]

    def clear(self, prices: Floats, rounds: int) -> Floats:
        """Return the prices after at most ``rounds`` moves toward their targets.

        Each price moves its own share of the way: the share doubles (up to all of it)
        while the price keeps moving one way and halves when it turns back, as coupled
        capacities (a team and its owners) overshoot each other when both move in full.
        """
        share = np.full(len(prices), _FIRST_SHARE)
        last = np.zeros(len(prices))
        moving = self.problem.limit > 0
        for _ in range(rounds):
            step = np.where(moving, self.targets(prices) - prices, 0.0)
            if (np.abs(step) <= _TOLERANCE * (1 + prices)).all():
                break
            turned = step * last < 0
            share = np.where(turned, share / 2, np.minimum(share * 2, 1.0)).clip(_MIN_SHARE)
            prices = prices + share * step
            last = step
        return prices

    def targets(self, prices: Floats) -> Floats:
        """Return each capacity's target price at ``prices`` (see :func:`_order_statistic`)."""
        problem = self.problem
        net, best, choice = problem.best(prices)
        with_own = np.maximum.reduceat(net[self.option] + prices[self.constraint], self.group_start)
        alternative = np.maximum(best, 0)[self.group_account]
        chosen = choice[self.group_account]
        clash = np.flatnonzero(chosen >= 0)
        clash = clash[problem.uses(chosen[clash], self.group_constraint[clash])]
        if len(clash):
            alternative[clash] = self._best_without(
                net, self.group_account[clash], self.group_constraint[clash]
            )
        surplus = with_own - alternative
        return _order_statistic(surplus, self.group_constraint, problem.limit, floor=prices / 2)

    def _best_without(self, net: Floats, accounts: Ints, constraints: Ints) -> Floats:
        """Return each account's best net value (or 0) over its options off the constraint."""
        problem = self.problem
        counts = problem.options_of[accounts]
        begins = np.cumsum(counts) - counts
        option = np.repeat(problem.starts[accounts] - begins, counts) + np.arange(counts.sum())
        on = problem.uses(option, np.repeat(constraints, counts))
        best: Floats = np.maximum.reduceat(np.where(on, -np.inf, net[option]), begins)
        return np.maximum(best, 0)


def _order_statistic(surplus: Floats, constraint: Ints, limit: Ints, *, floor: Floats) -> Floats:
    """Per constraint, the midpoint of its limit-th and (limit + 1)-th largest surplus.

    Any price in that range minimises the dual along the constraint's own price; the
    midpoint leaves no account at the margin indifferent, so float ties cannot make the
    choices overshoot. With no more positive surpluses than the limit the price is 0.
    Surpluses below ``floor`` are skipped where more than the limit are above it (they
    cannot be among the largest).
    """
    target = np.zeros(len(limit))
    positive = surplus > 0
    over = np.bincount(constraint[positive], minlength=len(limit)) > limit
    candidate = positive & over[constraint]
    high = candidate & (surplus >= floor[constraint])
    enough = np.bincount(constraint[high], minlength=len(limit)) > limit
    keep = np.flatnonzero(np.where(enough[constraint], high, candidate))
    if not len(keep):
        return target
    # Sort by constraint, then surplus descending, through one integer key.
    rank = np.empty(len(keep), np.int64)
    rank[np.argsort(-surplus[keep])] = np.arange(len(keep))
    ranked = keep[np.argsort(constraint[keep] * len(keep) + rank)]
    first = np.searchsorted(constraint[ranked], np.flatnonzero(over))
    limits = limit[over]
    outside = surplus[ranked[first + limits]]
    inside = surplus[ranked[first + np.maximum(limits - 1, 0)]]
    target[over] = (outside + inside) / 2
    return target


def _repair(problem: _Problem, prices: Floats, net: Floats, best: Floats, choice: Ints) -> Ints:
    """Return each account's option (or -1): the choice at ``prices``, made to fit.

    An account whose best net value beats its other options, and nothing, by more than a
    rounding margin keeps it, unless that overfills a capacity. Accounts at a tie, common
    at the prices that minimise the dual since the accounts at each margin are indifferent,
    are settled next, the more valuable option first while there is room, which fills the
    priced capacities as the LP optimum does. Accounts that lost their option to an
    overfull capacity come last, best net value first.
    """
    # Rounding in a net value grows with the value and the prices it nets out.
    slack = _TIE * (2 * problem.value - net)
    top = problem.top(net, best)
    margin = slack + slack[top][problem.account]
    near = net >= best[problem.account] - margin
    accounts = len(problem.starts)
    level = np.abs(best) <= slack[top]
    tied = (np.bincount(problem.account[near], minlength=accounts) > 1) | level
    choice = np.where(tied, -1, choice)
    room = problem.room(choice)
    losers = np.flatnonzero(tied)
    if (room < 0).any():  # prices short of converged: some choices do not fit
        on_over = np.zeros(len(problem.value), np.bool_)
        on_over[problem.pair_option[room[problem.pair_constraint] < 0]] = True
        overflow = np.flatnonzero((choice >= 0) & on_over[np.maximum(choice, 0)])
        choice[overflow] = -1
        room = problem.room(choice)
        losers = np.union1d(losers, overflow)
    unsettled = losers
    settle = np.flatnonzero(near & (net >= -margin) & tied[problem.account])
    settle = settle[_fits(problem, settle, room)]
    # An account indifferent between options prefers one whose capacities have room for
    # every tied account that could use them, leaving contested room to the others.
    contested = _contested(problem, settle, room)
    settle = settle[np.lexsort((settle, -problem.value[settle], contested))]
    _take(problem, choice, room, settle)
    losers = losers[choice[losers] < 0]
    counts = problem.options_of[losers]
    begins = np.cumsum(counts) - counts
    rest = np.repeat(problem.starts[losers] - begins, counts) + np.arange(counts.sum())
    _take(problem, choice, room, rest[np.lexsort((rest, -net[rest]))])
    _exchange(problem, choice, room, unsettled)
    _fill(problem, choice, room)
    return choice


def _exchange(problem: _Problem, choice: Ints, room: Ints, accounts: Ints) -> None:
    """Let each account take a more valuable option whose one full capacity another account
    gives up, for that account's best other option with room, when that gains value.

    Greedy settling of ties can hand the last unit of a capacity to the wrong one of two
    indifferent accounts; one exchange undoes that. Every exchange gains value, so the
    exchanges end; an account that gave way may then gain in turn.
    """
    held: dict[int, set[int]] = {}  # a full capacity's holders, found when first asked
    cheapest: dict[int, tuple[float, int, int]] = {}  # its (loss, holder, fallback) to free

    def give_way(constraint: int) -> tuple[float, int, int]:
        if constraint not in cheapest:
            if constraint not in held:
                owners = np.flatnonzero(choice >= 0)
                on = problem.uses(choice[owners], np.full(len(owners), constraint))
                held[constraint] = set(owners[on].tolist())
            rivals = np.array(sorted(held[constraint]), dtype=np.int64)
            cheapest[constraint] = (np.inf, -1, -1)
            if len(rivals):
                loss, fallback = _fallbacks(problem, choice, room, rivals, constraint)
                at = int(np.argmin(loss))
                cheapest[constraint] = (float(loss[at]), int(rivals[at]), int(fallback[at]))
        return cheapest[constraint]

    def move(account: int, option: int) -> None:
        old = int(choice[account])
        for constraint in problem.uses_of(old).tolist() if old >= 0 else []:
            room[constraint] += 1
            held.get(constraint, set()).discard(account)
        for constraint in problem.uses_of(option).tolist() if option >= 0 else []:
            room[constraint] -= 1
            held.get(constraint, set()).add(account)
        choice[account] = option
        cheapest.clear()  # room changed, so fallbacks may have

    def fits(account: int, option: int) -> bool:
        current = int(choice[account])
        freed = problem.uses_of(current) if current >= 0 else problem.uses_of(option)[:0]
        uses = problem.uses_of(option)
        return bool(((room[uses] > 0) | np.isin(uses, freed)).all())

    queue = deque(accounts.tolist())
    while queue:
        account = queue.popleft()
        begin, end = problem.starts[account], problem.starts[account] + problem.options_of[account]
        current = int(choice[account])
        gain = problem.value[begin:end] - (problem.value[current] if current >= 0 else 0.0)
        for option in (begin + np.argsort(-gain, kind="stable")[: int((gain > 0).sum())]).tolist():
            if fits(account, option):
                move(account, option)
                break
            uses = problem.uses_of(option)
            short = uses[room[uses] <= 0]
            if len(short) != 1:
                continue
            loss, rival, fallback = give_way(int(short[0]))
            if rival in (-1, account) or gain[option - begin] <= loss:
                continue
            given_up = int(choice[rival])
            move(rival, fallback)
            if fits(account, option):
                move(account, option)
                queue.append(rival)
                break
            move(rival, given_up)  # its fallback took room the option needs


def _fallbacks(
    problem: _Problem, choice: Ints, room: Ints, accounts: Ints, constraint: int
) -> tuple[Floats, Ints]:
    """Return what each account loses by moving off ``constraint``, and the option it takes.

    It takes its most valuable other option with room on every capacity and not on
    ``constraint``, or nothing (-1).
    """
    counts = problem.options_of[accounts]
    begins = np.cumsum(counts) - counts
    option = np.repeat(problem.starts[accounts] - begins, counts) + np.arange(counts.sum())
    current = choice[accounts]
    usable = (
        (option != np.repeat(current, counts))
        & _fits(problem, option, room)
        & ~problem.uses(option, np.full(len(option), constraint))
    )
    worth = np.where(usable, problem.value[option], 0.0)
    best = np.maximum.reduceat(worth, begins)
    at = np.flatnonzero(usable & (worth == np.repeat(best, counts)))
    fallback = np.full(len(accounts), -1, np.int64)
    group = np.searchsorted(begins, at, side="right") - 1
    fallback[group[::-1]] = option[at[::-1]]  # the first of equals wins
    fallback[best <= 0] = -1
    loss: Floats = problem.value[current] - np.maximum(best, 0)
    return loss, fallback


def _fits(problem: _Problem, options: Ints, room: Ints) -> Flags:
    """True for the options with room on every capacity they use."""
    full = np.zeros(len(problem.value), np.bool_)
    full[problem.pair_option[room[problem.pair_constraint] <= 0]] = True
    fits: Flags = ~full[options]
    return fits


def _contested(problem: _Problem, options: Ints, room: Ints) -> Flags:
    """True for the options using a capacity that more of their accounts want than fit."""
    flagged = np.zeros(len(problem.value), np.bool_)
    flagged[options] = True
    uses = flagged[problem.pair_option]
    wanted = np.unique(
        problem.account[problem.pair_option[uses]] * len(problem.limit)
        + problem.pair_constraint[uses]
    )
    demand = np.bincount(wanted % len(problem.limit), minlength=len(problem.limit))
    contested = np.zeros(len(problem.value), np.bool_)
    short = uses & (demand > room)[problem.pair_constraint]
    contested[problem.pair_option[short]] = True
    return contested[options]


def _take(problem: _Problem, choice: Ints, room: Ints, options: Ints) -> None:
    """Give accounts without a choice these options, in this order, while room allows."""
    for candidate in options.tolist():
        account = problem.account[candidate]
        uses = problem.uses_of(candidate)
        if choice[account] < 0 and (room[uses] > 0).all():
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
    # A full capacity blocks the option unless the account's current option gives it back.
    giving = np.flatnonzero(held >= 0)
    giving = giving[problem.pair_start[held[giving] + 1] > problem.pair_start[held[giving]]]
    giving = giving[problem.uses(held[giving], constraint[giving])]
    stuck = np.ones(len(full), np.bool_)
    stuck[giving] = False
    blocked = np.zeros(len(problem.value), np.bool_)
    blocked[option[stuck]] = True
    candidates = np.flatnonzero((gain > 0) & ~blocked)
    for candidate in candidates[np.lexsort((candidates, -gain[candidates]))].tolist():
        account = problem.account[candidate]
        old = int(choice[account])
        if old >= 0 and problem.value[old] >= problem.value[candidate]:
            continue
        uses = problem.uses_of(candidate)
        freed = problem.uses_of(old) if old >= 0 else uses[:0]
        if ((room[uses] > 0) | np.isin(uses, freed)).all():
            room[freed] += 1
            room[uses] -= 1
            choice[account] = candidate


def _with_shut_prices(problem: _Problem, prices: Floats, net: Floats, best: Floats) -> Floats:
    """Return the prices with each zero limit's set to what a first unit of it would gain.

    That is the largest surplus among the options on it: the option's net value before
    this capacity's own price, less its account's best net value.
    """
    shut = problem.limit == 0
    reported = np.where(shut, 0.0, prices)
    on_shut = shut[problem.pair_constraint]
    if on_shut.any():
        option, constraint = problem.pair_option[on_shut], problem.pair_constraint[on_shut]
        surplus = net[option] + prices[constraint] - np.maximum(best, 0)[problem.account[option]]
        np.maximum.at(reported, constraint, surplus)
    return reported


def _report(
    options: pl.DataFrame,
    encoded: _Encoded,
    capacities: Sequence[Capacity],
    prices: Floats,
    choice: Ints,
    net: Floats,
    best: Floats,
    upper_bound: float,
) -> Allocation:
    problem = encoded.problem
    picked = choice[choice >= 0]
    taken = np.zeros(len(problem.value), np.bool_)
    taken[picked] = True
    counted = encoded.counted_constraint[taken[encoded.counted_option]]
    used = np.bincount(counted, minlength=len(problem.limit))
    if (used > problem.limit).any():  # never: the repair checks room before every move
        raise AssertionError("allocation exceeded a capacity")
    prices = _with_shut_prices(problem, prices, net, best)
    rows = pl.Series(encoded.row[picked], dtype=pl.Int64)
    chosen = options.select(pl.all().gather(rows)).with_columns(
        pl.Series("net_value", net[picked], dtype=pl.Float64)
    )
    shadow_prices = pl.DataFrame(
        {
            "constraint_id": [capacity.constraint_id for capacity in capacities],
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
    return Allocation(
        chosen=chosen,
        shadow_prices=shadow_prices,
        upper_bound=upper_bound,
        total_value=float(problem.value[picked].sum()),
    )
