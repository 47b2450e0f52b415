"""The guardrail filter: the single function every decision passes through before it can
become an action.

Pure and vectorised. One polars pass evaluates every rule over every candidate (for one
account's few candidates, Python evaluates them row by row, as polars would: see
:mod:`nextmove.governance.guardrail_rows`), and the flags of the candidates each rule
concerns become a bit mask per candidate (bit i: rule i is broken); the capacity limits
then keep, per group, the highest-priority candidates that broke no rule, deciding all
groups at once with numpy; finally the few distinct masks are turned into rule ids and
joined back. Rules are data (:mod:`nextmove.governance.guardrail_rules`), so a playbook
compiles into them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.governance.guardrail_rows import row_rules, rules_columns
from nextmove.governance.guardrail_rules import (
    NO_ACTION,
    CapacityLimit,
    Rule,
    autonomy_never_rule,
    consent_rule,
    contact_cap_rule,
    eligibility_rule,
    kill_switch_rule,
    quiet_period_rule,
    region_consent_rule,
    touches_column,
)

__all__ = [
    "BLOCKED_BY",
    "NO_ACTION",
    "ONE_ACTION_PER_ACCOUNT",
    "VIOLATED",
    "CapacityLimit",
    "FirstRules",
    "GuardrailResult",
    "Rule",
    "apply_guardrails",
    "columns_read",
    "count_first_rules",
    "distinct_codes",
    "autonomy_never_rule",
    "consent_rule",
    "contact_cap_rule",
    "eligibility_rule",
    "kill_switch_rule",
    "quiet_period_rule",
    "region_consent_rule",
    "touches_column",
]

BLOCKED_BY = "rule_id"
"""Column of ``blocked``: the first rule (in the order given) that blocked the candidate."""
VIOLATED = "violated_rule_ids"
"""Column of ``blocked``: every rule the candidate breaks, or the capacity that cut it."""
ONE_ACTION_PER_ACCOUNT = "one_action_per_account"
"""Rule id of the optional limit of one allowed action (besides no_action) per account."""

_ONE_PER_ACCOUNT = CapacityLimit(
    ONE_ACTION_PER_ACCOUNT, "account_id", {}, default=1, description="one per account"
)

Mask = npt.NDArray[np.uint64]
Positions = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]

_WORD = "__guard_mask"
_UNDECIDED, _ACCEPTED, _REJECTED = 0, 1, 2
_FIRST_PREFIX = 1 << 16
"""How many of the highest-priority candidates the capacity fill decides on their own."""


@dataclass(frozen=True, slots=True)
class FirstRules:
    """The blocked candidates as positions in the input, and the first rule each breaks."""

    positions: Positions
    """Input rows of the blocked candidates, rising."""
    first: Positions
    """Per blocked candidate, the index in ``rule_ids`` of the first rule it breaks."""
    rule_ids: tuple[str, ...]
    """Rules in the order given, then capacities."""


class GuardrailResult:
    """Candidates split into those allowed and those blocked, with the reason.

    ``allowed`` has the input's columns; ``blocked`` adds :data:`BLOCKED_BY` (an Enum of
    the rule ids, rules in the order given then capacities) and :data:`VIOLATED` (a list of
    that Enum). Both keep the input's row order. ``blocked`` is built on first use: most of
    a batch is usually blocked, and a caller that only acts on the allowed candidates, or
    reads :attr:`first_rules` alone, need not pay for a copy of the others.
    """

    __slots__ = ("_blocked", "_build_blocked", "allowed", "first_rules")

    def __init__(
        self,
        allowed: pl.DataFrame,
        blocked: pl.DataFrame | Callable[[], pl.DataFrame],
        first_rules: FirstRules | None = None,
    ) -> None:
        self.allowed = allowed
        self._blocked = blocked if isinstance(blocked, pl.DataFrame) else None
        self._build_blocked = None if isinstance(blocked, pl.DataFrame) else blocked
        self.first_rules = first_rules
        """What blocked each candidate, without the blocked rows (from apply_guardrails)."""

    @property
    def blocked(self) -> pl.DataFrame:
        """The blocked candidates with :data:`BLOCKED_BY` and :data:`VIOLATED`."""
        if self._blocked is None:
            assert self._build_blocked is not None
            self._blocked, self._build_blocked = self._build_blocked(), None
        return self._blocked

    @property
    def blocked_count(self) -> int:
        """How many candidates were blocked."""
        if self.first_rules is not None:
            return len(self.first_rules.positions)
        return self.blocked.height

    def blocked_counts(self) -> pl.DataFrame:
        """Return how many candidates each rule blocked first, most first."""
        if self.first_rules is not None:
            return count_first_rules(self.first_rules.first, self.first_rules.rule_ids)
        counts = self.blocked.group_by(BLOCKED_BY).len("blocked")
        return counts.sort(["blocked", BLOCKED_BY], descending=[True, False])


def count_first_rules(first: Positions, ids: Sequence[str]) -> pl.DataFrame:
    """Return how many candidates each rule blocked first, most first, as
    :meth:`GuardrailResult.blocked_counts` does; ``first`` indexes ``ids``."""
    tally = np.bincount(first, minlength=len(ids))
    used = np.flatnonzero(tally)
    used = used[np.lexsort((used, -tally[used]))]  # most first, then in the order given
    return pl.DataFrame(
        [
            pl.Series(BLOCKED_BY, [ids[i] for i in used.tolist()]).cast(_enum(tuple(ids))),
            pl.Series("blocked", tally[used], dtype=pl.UInt32),
        ]
    )


@lru_cache(maxsize=16)
def _enum(ids: tuple[str, ...]) -> pl.Enum:
    return pl.Enum(ids)


def apply_guardrails(
    candidates: pl.DataFrame,
    rules: Sequence[Rule],
    capacities: Sequence[CapacityLimit] = (),
    *,
    priority: str = "priority",
    one_action_per_account: bool = False,
) -> GuardrailResult:
    """Return the candidates every rule and capacity allows, and the rest with their reasons.

    ``candidates`` has one row per (account, candidate action) with at least ``action``,
    and, when there are capacities, ``account_id`` and the ``priority`` column (higher
    first; null and NaN last), plus the columns the rules and capacities read.
    ``no_action`` is never blocked.

    Capacities are filled greedily in priority order (ties by account_id, then input order)
    among the candidates that broke no rule: a candidate is cut exactly when one of its
    groups is already full of higher-priority allowed candidates, and the first such
    capacity (in the order given) is named. ``one_action_per_account`` adds a last capacity
    of one action per account; arbitration is otherwise the decision engine's job.
    """
    limits = [*capacities]
    if one_action_per_account:
        limits.append(_ONE_PER_ACCOUNT)
    ids = [rule.rule_id for rule in rules] + [limit.rule_id for limit in limits]
    _check(candidates, rules, limits, ids, priority)
    if candidates.height == 0:  # nothing to evaluate (often so when deciding one account)
        rules, limits = (), []
    scope = _Scope(candidates["action"])
    masks = _rule_masks(candidates, rules, len(ids), scope)
    if limits:
        passed = ~_any_set(masks)
        rows, cut_by = _fill_capacities(candidates, passed, limits, priority, scope)
        for k in range(len(limits)):
            bit = len(rules) + k
            masks[bit // 64][rows[cut_by == k]] |= np.uint64(1 << bit % 64)
    blocked = _any_set(masks)

    def explain_blocked() -> pl.DataFrame:
        kept = candidates.filter(pl.Series(blocked))
        return _explain(kept, [mask[blocked] for mask in masks], ids)

    positions = np.flatnonzero(blocked)
    first = _first_bits([mask[positions] for mask in masks])
    # As filter(~blocked) but without a query, nor a copy when none or all are blocked.
    if not len(positions):
        allowed = candidates
    elif len(positions) == candidates.height:
        allowed = candidates.clear()
    else:
        kept = np.flatnonzero(~blocked)
        first_kept, count = int(kept[0]), len(kept)
        contiguous = int(kept[-1]) - first_kept + 1 == count
        allowed = candidates.slice(first_kept, count) if contiguous else candidates[kept]
    return GuardrailResult(
        allowed=allowed,
        blocked=explain_blocked,
        first_rules=FirstRules(positions, first, tuple(ids)),
    )


def _check(
    candidates: pl.DataFrame,
    rules: Sequence[Rule],
    limits: Sequence[CapacityLimit],
    ids: list[str],
    priority: str,
) -> None:
    """Raise ValueError for duplicate rule ids or columns the candidates frame lacks."""
    duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
    if duplicates:
        raise ValueError(f"duplicate rule ids: {', '.join(duplicates)}")
    present = set(candidates.columns)
    clashes = sorted(present & {BLOCKED_BY, VIOLATED} | {c for c in present if "__guard" in c})
    if clashes:
        raise ValueError(f"candidates may not have the columns {', '.join(clashes)}")
    missing = [
        f"{column} (read by {who})"
        for column, who in _needed(tuple(rules), tuple(limits), priority)
        if column not in present
    ]
    if missing:
        raise ValueError(f"candidates lack columns: {', '.join(missing)}")


@lru_cache(maxsize=64)
def _needed(
    rules: tuple[Rule, ...], limits: tuple[CapacityLimit, ...], priority: str
) -> tuple[tuple[str, str], ...]:
    """Each column the filter, the rules and the limits read, and the first reader named."""
    needed = {"action": "the filter"}
    if limits:
        needed |= {"account_id": "capacities", priority: "capacities"}
    for rule_id, columns in _columns_read(rules):
        needed |= {column: rule_id for column in columns}
    for limit in limits:
        needed |= {column: limit.rule_id for column in limit.columns}
    return tuple(needed.items())


@lru_cache(maxsize=16)
def _columns_read(rules: tuple[Rule, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each rule's id and the columns it reads (worked out once per rules)."""
    return tuple((rule.rule_id, rule.columns) for rule in rules)


def columns_read(rules: Sequence[Rule]) -> frozenset[str]:
    """Every candidate column the rules read (remembered for the same rules)."""
    return frozenset(column for _, columns in _columns_read(tuple(rules)) for column in columns)


class _Scope:
    """Which candidates a rule or capacity scoped to some actions concerns: any but
    ``no_action`` whose action is one of them, or any but ``no_action`` (unscoped); a
    candidate without an action is concerned by all."""

    def __init__(self, action: pl.Series) -> None:
        self._names, self._codes = distinct_codes(action)
        self._found: dict[frozenset[str] | None, Flags] = {}

    def __call__(self, actions: frozenset[str] | None) -> Flags:
        """True where a rule or capacity scoped to ``actions`` concerns the candidate."""
        if actions not in self._found:
            concerned = [
                name != NO_ACTION and (actions is None or name in actions) for name in self._names
            ]
            # Decided once per distinct action; code -1 (no action) reads the last entry.
            self._found[actions] = np.array([*concerned, True], dtype=np.bool_)[self._codes]
        return self._found[actions]


def distinct_codes(values: pl.Series) -> tuple[list[str], Positions]:
    """The distinct values as text (null left out), and each value's position among them
    (-1 for null)."""
    if len(values) <= _FEW_VALUES:  # listed in Python: no query
        index: dict[str, int] = {}
        listed = values.cast(pl.String).to_list()
        codes = [-1 if value is None else index.setdefault(value, len(index)) for value in listed]
        return list(index), np.array(codes, dtype=np.int64)
    text = values.cast(pl.String)
    names = [value for value in text.unique().to_list() if value is not None]
    physical = text.cast(pl.Enum(names)).to_physical().cast(pl.Int64)
    physical = physical.fill_null(-1) if physical.null_count() else physical
    return names, np.asarray(physical.to_numpy(), dtype=np.int64)


_FEW_VALUES = 1_000
"""Up to this many values, :func:`distinct_codes` numbers them in Python (no query)."""


_FEW_CANDIDATES = 10_000


def _rule_masks(
    candidates: pl.DataFrame, rules: Sequence[Rule], bits: int, scope: _Scope
) -> list[Mask]:
    """Per candidate, one 64-bit word per 64 rule ids with the bits of the rules it breaks.

    The rules are evaluated in one polars query (or, for a few candidates, row by row in
    Python); which candidates each concerns, and the packing into words, are array steps.
    """
    words = max(-(-bits // 64), 1)
    if not rules:
        return [np.zeros(candidates.height, np.uint64) for _ in range(words)]
    rules = tuple(rules)
    few = _violated_in_python(candidates, rules) if candidates.height <= _ROWS_IN_PYTHON else None
    if few is not None:
        broken = few & np.stack([scope(rule.actions) for rule in rules])
        # Rule i is bit i % 64 of word i // 64: packed eight rules a byte, eight bytes a word.
        padded = np.zeros((words * 64, candidates.height), np.bool_)
        padded[: len(rules)] = broken
        packed = np.packbits(padded, axis=0, bitorder="little")
        as_words = np.ascontiguousarray(packed.T).view(np.dtype("<u8"))
        return [as_words[:, w].astype(np.uint64) for w in range(words)]
    masks = [np.zeros(candidates.height, np.uint64) for _ in range(words)]
    for i, (rule, violated) in enumerate(zip(rules, _violated(candidates, rules), strict=True)):
        broken_by = scope(rule.actions) & violated
        masks[i // 64] |= broken_by.astype(np.uint64) << np.uint64(i % 64)
    return masks


def _violated(candidates: pl.DataFrame, rules: tuple[Rule, ...]) -> Iterator[Flags]:
    """Per rule, whether each candidate breaks it (true or null), by one polars query."""
    violations = _violations(rules)
    # Eager (in memory, few optimisations) for one account's few candidates: planning
    # would be most of the time; many candidates keep the default engine.
    frame = (
        candidates.select(violations)
        if candidates.height <= _FEW_CANDIDATES
        else candidates.lazy().select(violations).collect()
    )
    for violated in frame.get_columns():
        if violated.dtype != pl.Boolean:  # a null literal, say
            violated = violated.cast(pl.Boolean)
        if len(violated) != candidates.height:  # a literal: one value for every candidate
            violated = violated.new_from_index(0, candidates.height)
        if violated.null_count():  # unknown: broken
            violated = violated.fill_null(True)
        yield np.asarray(violated.to_numpy(), dtype=np.bool_)


_ROWS_IN_PYTHON = 32
"""Up to this many candidates, rules :mod:`~nextmove.governance.guardrail_rows` can read are
evaluated row by row in Python: planning a polars query would be most of the time."""


def _violated_in_python(candidates: pl.DataFrame, rules: tuple[Rule, ...]) -> Flags | None:
    """:func:`_violated` row by row, or None if the rules or the dtypes are not known there."""
    columns = rules_columns(rules)
    picked = None if columns is None else _positions(tuple(candidates.columns), columns)
    if picked is None:
        return None
    every = candidates.dtypes
    compiled = row_rules(rules, tuple(every[at] for at in picked))
    if compiled is None:
        return None
    if len(picked) > 1:
        pick = operator.itemgetter(*picked)
        rows = [pick(row) for row in candidates.rows()]
    else:
        rows = [tuple(row[at] for at in picked) for row in candidates.rows()]
    return np.array(compiled.broken(rows), dtype=np.bool_).reshape(len(rules), len(rows))


@lru_cache(maxsize=64)
def _positions(names: tuple[str, ...], columns: tuple[str, ...]) -> tuple[int, ...] | None:
    """Where each of ``columns`` is among ``names`` (None if one is missing)."""
    at = {name: k for k, name in enumerate(names)}
    return tuple(at[column] for column in columns) if set(columns) <= set(at) else None


@lru_cache(maxsize=16)
def _violations(rules: tuple[Rule, ...]) -> list[pl.Expr]:
    """Whether each candidate breaks each rule (null: unknown), built once per rules: a policy
    is applied again and again."""
    return [rule.violated.alias(f"__guard_{i}") for i, rule in enumerate(rules)]


def _first_bits(masks: list[Mask]) -> Positions:
    """Per candidate, the lowest bit set across its words (at least one is set)."""
    first = np.full(len(masks[0]) if masks else 0, -1, np.int64)
    for i, word in reversed(list(enumerate(masks))):
        has = word != 0
        lowest = word[has] & (~word[has] + np.uint64(1))  # two's complement: the lowest bit
        _, exponent = np.frexp(lowest.astype(np.float64))  # exact: a power of two
        first[has] = 64 * i + exponent.astype(np.int64) - 1
    return first


def _any_set(masks: list[Mask]) -> Flags:
    flags: Flags = np.logical_or.reduce([mask != 0 for mask in masks])
    return flags


def _fill_capacities(
    candidates: pl.DataFrame,
    passed: Flags,
    limits: Sequence[CapacityLimit],
    priority: str,
    scope: _Scope,
) -> tuple[Positions, npt.NDArray[np.int16]]:
    """Return the candidate rows cut by a capacity and the index of the capacity that cut each.

    Among the candidates that broke no rule, capacities are filled greedily in priority
    order; a cut candidate is named after the first capacity whose group was full of
    higher-priority allowed candidates.
    """
    subject = np.column_stack([scope(limit.actions) & passed for limit in limits])
    # A limit no group of which can fill up with the candidates it concerns cuts no one.
    binding = [k for k, limit in enumerate(limits) if not _roomy(limit, int(subject[:, k].sum()))]
    subject = subject[:, binding]
    limits = [limits[k] for k in binding]
    in_pool = subject.any(axis=1)
    rows = np.flatnonzero(in_pool)
    if not len(rows):
        return rows, np.zeros(0, np.int16)
    columns = {priority, "account_id"} | {c for limit in limits for c in limit.columns}
    pool = candidates.select(sorted(columns)).filter(pl.Series(in_pool)).rechunk()
    # From here on, candidates are numbered by rank: 0 is the highest priority.
    order = _priority_order(pool[priority], pool["account_id"])
    grouping = sorted({c for limit in limits for c in limit.columns})
    pool, rows, subject = pool.select(grouping)[order], rows[order], subject[rows[order]]
    every = [_Groups.of(pool, limit, subject[:, j]) for j, limit in enumerate(limits)]
    size = len(order)
    status = _greedy_status(every, size)
    # Name the first capacity full of higher accepted candidates once all are decided.
    rejected = status == _REJECTED
    accepted = status == _ACCEPTED
    cut_by = np.full(size, -1, np.int16)
    for j, g in reversed(list(enumerate(every))):
        cut_by[rejected & g.full(accepted, size)] = binding[j]
    return rows[rejected], cut_by[rejected]


def _roomy(limit: CapacityLimit, concerned: int) -> bool:
    """Whether every group of ``limit`` has room for ``concerned`` candidates."""
    if isinstance(limit.limits, str):  # limits read from a column: not known here
        return False
    sizes = [*limit.limits.values(), *([] if limit.default is None else [limit.default])]
    return min(sizes, default=concerned) >= concerned


def _greedy_status(groups: list[_Groups], size: int) -> npt.NDArray[np.int8]:
    """Return, per rank, whether the greedy fill accepts or rejects the candidate.

    Decided in vectorised rounds: an undecided candidate is rejected once one of its groups
    is full of accepted higher ones, and accepted once each of its groups has room even if
    every live (not rejected) higher one is accepted. The highest undecided candidate is
    always decided, so the rounds end. The top ranks are decided first, on their own (a
    candidate's fate depends only on higher ones): once they have filled most groups, the
    first round over everyone rejects nearly all the rest at once.
    """
    status = np.full(size, _UNDECIDED, np.int8)
    prefix = min(size, _FIRST_PREFIX)
    while True:
        view = status[:prefix]
        beyond = np.arange(size) >= prefix
        live_groups = [g.without(beyond) for g in groups] if prefix < size else groups
        compacted = int((view == _REJECTED).sum())
        while (view == _UNDECIDED).any():
            full = np.logical_or.reduce([g.full(view == _ACCEPTED, prefix) for g in live_groups])
            view[(view == _UNDECIDED) & full] = _REJECTED
            if (rejected := view == _REJECTED).sum() > compacted + prefix // 4:
                live_groups = [g.without(rejected) for g in live_groups]  # they no longer count
                compacted = int(rejected.sum())
            live = view != _REJECTED
            room = np.logical_and.reduce([g.room(live, prefix) for g in live_groups])
            view[(view == _UNDECIDED) & room] = _ACCEPTED
        if prefix == size:
            return status
        prefix = size


@dataclass(frozen=True, slots=True)
class _Groups:
    """One capacity's groups, as positions in the pool's priority order."""

    order: Positions
    """The subject candidates' priority ranks, group after group, rising within a group."""
    first: Positions
    """For each entry of ``order``, the index in ``order`` where its group begins."""
    limit: npt.NDArray[np.int32]
    """The group limit of each entry of ``order``."""

    @classmethod
    def of(cls, pool: pl.DataFrame, limit: CapacityLimit, subject: Flags) -> _Groups:
        """Group the subject candidates of ``pool`` (in rank order) by the limit's group."""
        own_limits = isinstance(limit.limits, str)
        groups = (
            pool.select(
                pl.col(limit.group).alias("group"),
                *([_limit_of(limit).alias("limit")] if own_limits else []),
            )
            .with_row_index("rank")
            .filter(pl.Series(subject))
            .group_by("group")  # keeps the rows' order within each group: ranks rise
            .agg(pl.col("rank"), *([pl.col("limit").min()] if own_limits else []))
        )
        if not own_limits:  # one lookup per group rather than per candidate
            groups = groups.with_columns(_limit_of(limit, "group").alias("limit"))
        groups = groups.filter(pl.col("limit").is_not_null())  # an unlimited group
        sizes = groups["rank"].list.len().to_numpy().astype(np.int64)
        limits = groups["limit"].clip(upper_bound=np.iinfo(np.int32).max).to_numpy()
        return cls(
            order=groups["rank"].explode().to_numpy().astype(np.int64),
            first=np.repeat(np.cumsum(sizes) - sizes, sizes),
            limit=np.repeat(limits.astype(np.int32), sizes),
        )

    def room(self, live: Flags, size: int) -> Flags:
        """True where a candidate is not subject, or its group has room for all live higher."""
        out = np.ones(size, np.bool_)
        out[self.order] = self._before(live) < self.limit
        return out

    def full(self, accepted: Flags, size: int) -> Flags:
        """True where a candidate is subject and its group is full of accepted higher ones."""
        out = np.zeros(size, np.bool_)
        out[self.order] = self._before(accepted) >= self.limit
        return out

    def without(self, rejected: Flags) -> _Groups:
        """Return the groups without the rejected candidates (they no longer count)."""
        keep = ~rejected[self.order]
        if keep.all():
            return self
        # Group starts move left by the entries dropped before them.
        dropped_before: Positions = np.cumsum(~keep) - ~keep
        first = self.first - dropped_before[self.first]
        return _Groups(self.order[keep], first[keep], self.limit[keep])

    def _before(self, counted: Flags) -> npt.NDArray[np.int32]:
        """For each entry of ``order``, how many earlier entries of its group are counted."""
        flags = counted[self.order]
        before: npt.NDArray[np.int32] = np.cumsum(flags, dtype=np.int32) - flags
        return before - before[self.first]


def _limit_of(limit: CapacityLimit, group: str | None = None) -> pl.Expr:
    """Each candidate's group limit: from the mapping or column, else the default.

    ``group`` names the column holding the group values, when not the limit's own.
    """
    default = pl.lit(limit.default, pl.Int64)
    if isinstance(limit.limits, str):
        return pl.col(limit.limits).cast(pl.Int64).fill_null(default)
    if not limit.limits:
        return default
    mapped = (
        pl.col(group or limit.group)
        .cast(pl.String)
        .replace_strict(dict(limit.limits), default=None, return_dtype=pl.Int64)
    )
    return mapped.fill_null(default)


def _priority_order(priority: pl.Series, account: pl.Series) -> Positions:
    """Positions by priority (highest first, null and NaN last), then account_id, then position.

    One sort on the priority alone does most of the work; only rows whose priority ties
    with another's are then sorted by account_id.
    """
    value = priority.cast(pl.Float64).fill_null(np.nan).to_numpy()
    order = np.argsort(-value).astype(np.int64)  # NaN sorts last
    ranked = value[order]
    start = ~((ranked[1:] == ranked[:-1]) | (np.isnan(ranked[1:]) & np.isnan(ranked[:-1])))
    start = np.concatenate([[True], start])
    tied = ~(start & np.append(start[1:], True))
    if tied.any():
        at = np.flatnonzero(tied)
        ties = pl.DataFrame(
            {"run": np.cumsum(start)[at], "account": account.gather(order[at]), "at": order[at]}
        )
        order[at] = ties.sort(["run", "account", "at"], nulls_last=True)["at"].to_numpy()
    return order


def _explain(blocked: pl.DataFrame, masks: list[Mask], ids: list[str]) -> pl.DataFrame:
    """Return the blocked candidates with their first rule and every rule they break."""
    words = pl.DataFrame({f"{_WORD}{i}": mask for i, mask in enumerate(masks)})
    reasons = words.unique()
    broken = [
        [ids[64 * i + bit] for i, word in enumerate(row) for bit in range(64) if word >> bit & 1]
        for row in reasons.rows()
    ]
    enum = pl.Enum(ids)
    table = reasons.with_columns(
        pl.Series(BLOCKED_BY, [names[0] for names in broken], dtype=enum),
        pl.Series(VIOLATED, broken, dtype=pl.List(enum)),
    )
    explained = words.join(table, on=words.columns, how="left", maintain_order="left")
    return blocked.hstack(explained.select(BLOCKED_BY, VIOLATED))
