"""Allocation under capacity, against the exact optimum that HiGHS finds.

Random small instances (teams, per-owner limits, unlimited ids, negative values, ties)
are solved both by :func:`allocate` and as a mixed-integer programme with
``scipy.optimize.milp``; the allocation must never break a capacity, choose at most one
positive option per account, reach 97% of the optimum, and bound it from above. Hand-made
cases pin the shadow prices (against the LP duals of HiGHS) and a case where taking
options greedily by value loses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, note, settings, target
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_matrix

from nextmove.decisions.allocation import Allocation, Capacity, allocate
from nextmove.governance.guardrails import CapacityLimit, apply_guardrails

SCHEMA = {
    "account_id": pl.String,
    "option": pl.Int64,
    "value": pl.Float64,
    "uses": pl.List(pl.String),
}
PROPERTY_SETTINGS = settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
QUICK_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=60)
TEAMS = ["team-sales", "team-service"]
OWNERS = [f"team-sales.per_owner:own-{n}" for n in range(3)]
UNLIMITED = "team-partner"  # used by options, never given a capacity


def options_frame(rows: Sequence[tuple[str, int, float, list[str]]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


KINDS = {
    "sales": ["team-sales"],  # plus one owner
    "service": ["team-service"],
    "partner": [UNLIMITED],
    "service+partner": [UNLIMITED, "team-service"],
    "free": [],
}
OPTION = st.tuples(st.sampled_from(list(KINDS)), st.integers(-8, 40), st.sampled_from(OWNERS))


@st.composite
def instances(draw: st.DrawFn) -> tuple[pl.DataFrame, list[Capacity]]:
    """Up to 60 accounts × 4 options; up to 5 capacities among two teams and three owners.

    A sales option uses the sales team and one owner, as a decision engine's would; other
    options use the service team, the unlimited partner id, both, or nothing. Values are
    halves from -4 to 20, so ties are common, and some are negative.
    """
    limited = draw(st.lists(st.sampled_from(TEAMS + OWNERS), min_size=1, max_size=5, unique=True))
    capacities = [Capacity(c, draw(st.integers(0, 10))) for c in limited]
    accounts = draw(st.lists(st.lists(OPTION, min_size=1, max_size=4), min_size=1, max_size=60))
    rows = [
        (f"acct-{n:02d}", k, value / 2, KINDS[kind] + ([owner] if kind == "sales" else []))
        for n, drawn in enumerate(accounts)
        for k, (kind, value, owner) in enumerate(drawn)
    ]
    return options_frame(rows), capacities


def exact_optimum(options: pl.DataFrame, capacities: Sequence[Capacity]) -> float:
    """Return the best total value, solved as an integer programme by HiGHS."""
    matrix, upper = constraint_matrix(options, capacities)
    result = milp(
        -options["value"].to_numpy(),
        constraints=LinearConstraint(matrix, -np.inf, upper),
        integrality=np.ones(options.height),
        bounds=Bounds(0, 1),
    )
    assert result.success, result.message
    return float(-result.fun)


def lp_duals(options: pl.DataFrame, capacities: Sequence[Capacity]) -> tuple[float, list[float]]:
    """Return the LP relaxation's optimum and each capacity's dual price (HiGHS)."""
    matrix, upper = constraint_matrix(options, capacities)
    result = linprog(
        -options["value"].to_numpy(), A_ub=matrix, b_ub=upper, bounds=(0, 1), method="highs"
    )
    assert result.success, result.message
    accounts = options["account_id"].n_unique()
    return float(-result.fun), [-m for m in result.ineqlin.marginals[accounts:]]


def constraint_matrix(options: pl.DataFrame, capacities: Sequence[Capacity]) -> tuple[Any, Any]:
    """One row per account (at most one option) and per capacity (at most its limit)."""
    accounts = {a: i for i, a in enumerate(sorted(set(options["account_id"])))}
    limit_row = {c.constraint_id: len(accounts) + k for k, c in enumerate(capacities)}
    rows, columns = [], []
    for column, (account, uses) in enumerate(options.select("account_id", "uses").rows()):
        rows.append(accounts[account])
        columns.append(column)
        for constraint in set(uses) & set(limit_row):
            rows.append(limit_row[constraint])
            columns.append(column)
    shape = (len(accounts) + len(capacities), options.height)
    matrix = coo_matrix((np.ones(len(rows)), (rows, columns)), shape=shape).tocsr()
    upper = np.r_[np.ones(len(accounts)), [c.limit for c in capacities]]
    return matrix, upper


def assert_feasible(result: Allocation, capacities: Sequence[Capacity]) -> None:
    chosen = result.chosen
    assert chosen["account_id"].is_unique().all()
    assert (chosen["value"] > 0).all()
    used = Counter(c for uses in chosen["uses"] for c in set(uses))
    for capacity in capacities:
        assert used[capacity.constraint_id] <= capacity.limit, capacity
    prices = dict(result.shadow_prices.select("constraint_id", "shadow_price").rows())
    assert prices.keys() == {c.constraint_id for c in capacities}
    reported = dict(result.shadow_prices.select("constraint_id", "used").rows())
    assert reported == {c.constraint_id: used[c.constraint_id] for c in capacities}
    expected_net = [
        value - sum(prices.get(c, 0.0) for c in set(uses))
        for value, uses in chosen.select("value", "uses").rows()
    ]
    assert chosen["net_value"].to_list() == pytest.approx(expected_net)
    assert result.total_value == pytest.approx(chosen["value"].sum())


@PROPERTY_SETTINGS
@given(instances())
def test_allocation_is_feasible_and_near_the_exact_optimum(
    instance: tuple[pl.DataFrame, list[Capacity]],
) -> None:
    options, capacities = instance
    result = allocate(options, capacities)
    assert_feasible(result, capacities)
    optimum = exact_optimum(options, capacities)
    ratio = result.total_value / optimum if optimum > 0 else 1.0
    note(f"total {result.total_value}, optimum {optimum}, bound {result.upper_bound}")
    target(-ratio, label="shortfall against the optimum")  # steer toward hard instances
    assert ratio >= 0.97
    assert result.upper_bound >= optimum - 1e-6 * max(1.0, optimum)
    # Converged prices minimise the Lagrangian dual, whose minimum is the LP optimum.
    lp_optimum, _ = lp_duals(options, capacities)
    assert result.upper_bound <= lp_optimum + 0.01 * max(1.0, lp_optimum)


@QUICK_SETTINGS
@given(instances())
def test_without_limits_every_account_gets_its_best_positive_option(
    instance: tuple[pl.DataFrame, list[Capacity]],
) -> None:
    options, capacities = instance
    roomy = [Capacity(c.constraint_id, options.height) for c in capacities]
    for limits in ([], roomy):
        result = allocate(options, limits)
        best = (
            options.filter(pl.col("value") > 0)
            .sort(["account_id", "value", "option"], descending=[False, True, False])
            .group_by("account_id", maintain_order=True)
            .first()
        )
        assert (
            result.chosen.select("account_id", "option").rows()
            == best.select("account_id", "option").rows()
        )
        assert result.upper_bound == pytest.approx(result.total_value)
        assert result.shadow_prices["shadow_price"].to_list() == [0.0] * len(limits)


@QUICK_SETTINGS
@given(instances(), st.randoms(use_true_random=False))
def test_the_choice_does_not_depend_on_row_order(
    instance: tuple[pl.DataFrame, list[Capacity]], rng: Any
) -> None:
    options, capacities = instance
    shuffled = options.sample(fraction=1.0, shuffle=True, seed=rng.randrange(2**32))
    first, second = allocate(options, capacities), allocate(shuffled, capacities)
    assert first.chosen.equals(second.chosen)
    assert first.shadow_prices.equals(second.shadow_prices)


def test_a_binding_capacity_is_priced_between_the_last_accepted_and_first_rejected() -> None:
    options = options_frame(
        [(f"acct-{n}", 0, value, ["team"]) for n, value in enumerate([10.0, 8.0, 6.0, 4.0])]
        + [("acct-9", 0, 5.0, ["roomy"]), ("acct-9", 1, 1.0, ["team", "roomy"])]
    )
    capacities = [Capacity("team", 2), Capacity("roomy", 5), Capacity("unused", 3)]
    result = allocate(options, capacities)
    assert result.chosen.select("account_id", "option").rows() == [
        ("acct-0", 0),
        ("acct-1", 0),
        ("acct-9", 0),
    ]
    prices = {row["constraint_id"]: row for row in result.shadow_prices.iter_rows(named=True)}
    assert 6.0 <= prices["team"]["shadow_price"] <= 8.0
    assert prices["team"]["binding"] and prices["team"]["used"] == 2
    assert prices["roomy"] == {
        "constraint_id": "roomy",
        "limit": 5,
        "used": 1,
        "shadow_price": 0.0,
        "binding": False,
    }
    assert prices["unused"]["used"] == 0 and prices["unused"]["shadow_price"] == 0.0
    assert result.total_value == result.upper_bound == 23.0


def test_shadow_prices_match_the_lp_duals() -> None:
    """A team of 2 and an owner of 1 with ties at both margins: the LP duals are unique."""
    options = options_frame(
        [
            ("acct-a", 0, 10.0, ["team", "team.per_owner:own-1"]),
            ("acct-b", 0, 10.0, ["team", "team.per_owner:own-1"]),
            ("acct-c", 0, 6.0, ["team"]),
            ("acct-d", 0, 6.0, ["team"]),
        ]
    )
    capacities = [Capacity("team", 2), Capacity("team.per_owner:own-1", 1)]
    result = allocate(options, capacities)
    lp_optimum, duals = lp_duals(options, capacities)
    assert duals == pytest.approx([6.0, 4.0])
    assert result.shadow_prices["shadow_price"].to_list() == pytest.approx(duals)
    assert result.upper_bound == pytest.approx(lp_optimum) == 16.0
    # Ties go to the smaller account_id.
    assert result.chosen["account_id"].to_list() == ["acct-a", "acct-c"]


def test_allocation_beats_taking_the_most_valuable_options_first() -> None:
    """acct-1's best option takes the only sales slot, but it nearly as much values a
    digital programme without limit; acct-2 can only use sales."""
    options = options_frame(
        [
            ("acct-1", 0, 10.0, ["team-sales"]),
            ("acct-1", 1, 9.5, []),
            ("acct-2", 0, 8.0, ["team-sales"]),
            ("acct-3", 0, 3.0, ["team-sales"]),
        ]
    )
    capacities = [Capacity("team-sales", 1)]
    greedy = greedy_by_value(options, capacities)
    result = allocate(options, capacities)
    assert greedy == 10.0
    assert result.total_value == 17.5 == exact_optimum(options, capacities)
    assert result.chosen.select("account_id", "option").rows() == [("acct-1", 1), ("acct-2", 0)]


def greedy_by_value(options: pl.DataFrame, capacities: Sequence[Capacity]) -> float:
    room = {c.constraint_id: c.limit for c in capacities}
    taken: set[str] = set()
    total = 0.0
    ranked = options.filter(pl.col("value") > 0).sort(
        ["value", "account_id", "option"], descending=[True, False, False]
    )
    for account, value, uses in ranked.select("account_id", "value", "uses").rows():
        limited = [c for c in set(uses) if c in room]
        if account not in taken and all(room[c] > 0 for c in limited):
            taken.add(account)
            total += value
            for c in limited:
                room[c] -= 1
    return total


def test_accounts_outside_the_first_round_are_added_when_they_want_a_capacity() -> None:
    """The most valuable uses of the team belong to accounts that prefer another option,
    so pricing among them alone would leave the team free; the check over every account
    brings in the ones that want it."""
    decoys = [
        (f"acct-d{n:03d}", k, v, u)
        for n in range(60)
        for k, v, u in [
            (0, 100.0 + n, ["team"]),
            (1, 1000.0, []),
        ]
    ]
    wanting = [(f"acct-w{n}", 0, 10.0 - n, ["team"]) for n in range(5)]
    options = options_frame(decoys + wanting)
    capacities = [Capacity("team", 2)]
    result = allocate(options, capacities)
    assert_feasible(result, capacities)
    assert result.total_value == exact_optimum(options, capacities) == 60_000 + 10 + 9
    assert 8.0 <= result.shadow_prices["shadow_price"].item() <= 9.0


def test_no_rounds_still_respects_every_capacity() -> None:
    options = options_frame(
        [(f"acct-{n}", k, float(n + k), ["team", f"own-{n % 2}"]) for n in range(9) for k in (0, 1)]
    )
    capacities = [Capacity("team", 3), Capacity("own-0", 1)]
    result = allocate(options, capacities, max_rounds=0)
    assert_feasible(result, capacities)
    assert result.chosen.height == 3


def test_a_zero_limit_shuts_its_options_out() -> None:
    options = options_frame(
        [("acct-1", 0, 50.0, ["banned"]), ("acct-1", 1, 2.0, []), ("acct-2", 0, 9.0, ["banned"])]
    )
    result = allocate(options, [Capacity("banned", 0)])
    assert result.chosen.select("account_id", "option").rows() == [("acct-1", 1)]
    assert result.shadow_prices["shadow_price"].item() >= 48.0


def test_extra_columns_are_kept_and_nothing_positive_means_nothing_chosen() -> None:
    options = options_frame(
        [("acct-1", 0, -1.0, ["team"]), ("acct-1", 1, 0.0, []), ("acct-2", 0, 3.0, ["team"])]
    ).with_columns(action=pl.lit("sales_outreach"))
    result = allocate(options, [Capacity("team", 1)])
    assert result.chosen.columns == [*options.columns, "net_value"]
    assert result.chosen.rows() == [("acct-2", 0, 3.0, ["team"], "sales_outreach", 3.0)]
    empty = allocate(options.clear(), [Capacity("team", 1)])
    assert empty.chosen.height == 0 and empty.total_value == empty.upper_bound == 0.0


def test_the_guardrail_filter_keeps_every_allocated_option() -> None:
    """The same team and owner limits, as the guardrail filter's capacities, cut nothing."""
    rng = np.random.default_rng(3)
    rows = []
    for n in range(400):
        owner = f"own-{rng.integers(0, 8)}"
        rows += [
            (f"acct-{n:03d}", 0, float(rng.lognormal(3, 1)), "sales", owner),
            (f"acct-{n:03d}", 1, float(rng.lognormal(2, 1)), "digital", None),
        ]
    candidates = pl.DataFrame(
        rows, schema=["account_id", "option", "value", "team", "owner"], orient="row"
    ).with_columns(
        action=pl.when(pl.col("team") == "sales")
        .then(pl.lit("sales_outreach"))
        .otherwise(pl.lit("digital_program")),
        uses=pl.concat_list(
            pl.format("team-{}", "team"), pl.format("team-sales.per_owner:{}", "owner")
        ).list.drop_nulls(),
    )
    capacities = [Capacity("team-sales", 20), Capacity("team-digital", 50)]
    capacities += [Capacity(f"team-sales.per_owner:own-{k}", 3) for k in range(8)]
    result = allocate(candidates, capacities)
    assert_feasible(result, capacities)
    limits = [
        CapacityLimit("team", "team", {"sales": 20, "digital": 50}),
        CapacityLimit("owner", "owner", {f"own-{k}": 3 for k in range(8)}),
    ]
    kept = apply_guardrails(
        result.chosen, [], limits, priority="value", one_action_per_account=True
    ).allowed
    assert kept.equals(result.chosen)


def test_a_capacity_listed_twice_counts_once() -> None:
    options = options_frame(
        [("acct-1", 0, 5.0, ["team", "team"]), ("acct-2", 0, 4.0, ["team", "free", "team"])]
    )
    result = allocate(options, [Capacity("team", 2)])
    assert result.chosen["account_id"].to_list() == ["acct-1", "acct-2"]
    assert result.shadow_prices["used"].to_list() == [2]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop("uses"), "lack columns: uses"),
        (lambda f: f.with_columns(value=pl.lit(None, pl.Float64)), "nulls in: value"),
        (lambda f: f.with_columns(value=pl.lit(float("nan"))), "NaN or infinite"),
        (lambda f: f.with_columns(value=pl.lit(float("inf"))), "NaN or infinite"),
        (lambda f: f.with_columns(option=pl.lit(0)), "repeat an"),
    ],
)
def test_bad_options_are_refused(change: Any, message: str) -> None:
    options = options_frame([("acct-1", 0, 1.0, []), ("acct-1", 1, 2.0, [])])
    with pytest.raises(ValueError, match=message):
        allocate(change(options), [])


def test_bad_capacities_are_refused() -> None:
    options = options_frame([("acct-1", 0, 1.0, ["team"])])
    with pytest.raises(ValueError, match="duplicate capacity: team"):
        allocate(options, [Capacity("team", 1), Capacity("team", 2)])
    with pytest.raises(ValueError, match="limit must be >= 0"):
        Capacity("team", -1)
    with pytest.raises(ValueError, match="max_rounds"):
        allocate(options, [], max_rounds=-1)
