"""Allocation benchmark: 1M accounts × ~3 options under team and per-owner capacities.

    python benchmarks/allocation.py                      # 1M accounts
    python benchmarks/allocation.py --accounts 100000 --runs 5

Builds a seeded options frame with numpy and polars: every account has a digital
programme (team limit 20,000), 90% a sales outreach (team limit 500, and 3 per owner
across 300 owners), 60% a service conversation (team limit 200, and 5 per owner across 40
owners) and half an unconstrained nurture step; values are lognormal less a cost, so some
are negative. ``allocate`` runs ``--runs`` times: the figure is the median wall time, with
the total value, the dual gap (upper bound − total) / upper bound, and the ratio of the
total to a greedy-by-value baseline measured in the same run: the guardrail filter's own
capacity fill (``apply_guardrails`` with one action per account, priority = value). Last,
the allocation's choices go through that same filter, which must keep every one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import polars as pl

from nextmove.decisions.allocation import Allocation, Capacity, allocate
from nextmove.governance.guardrails import CapacityLimit, apply_guardrails

SALES_OWNERS, SALES_PER_OWNER, SALES_TEAM = 300, 3, 500
SERVICE_OWNERS, SERVICE_PER_OWNER, SERVICE_TEAM = 40, 5, 200
DIGITAL_TEAM = 20_000
SIZE_SIGMA = 1.0
# kind: (share of accounts, action, team, owners, lognormal mean, sigma, cost)
KINDS = {
    "sales": (0.9, "sales_outreach", "sales", SALES_OWNERS, 6.0, 1.2, 300.0),
    "service": (0.6, "service_conversation", "service", SERVICE_OWNERS, 5.0, 1.0, 100.0),
    "digital": (1.0, "digital_program", "digital", 0, 2.5, 1.0, 5.0),
    "nurture": (0.5, "nurture", None, 0, 0.5, 0.8, 1.0),
}


def build_options(accounts: int, *, seed: int) -> pl.DataFrame:
    """Return the options frame, by account then option, with team and owner columns."""
    rng = np.random.default_rng(seed)
    # A large account is worth more to every motion: values share the account's size.
    size = rng.lognormal(0.0, SIZE_SIGMA, accounts)
    parts = []
    for option, (share, action, team, owners, mean, sigma, cost) in enumerate(KINDS.values()):
        ids = np.flatnonzero(rng.random(accounts) < share)
        value = size[ids] * rng.lognormal(mean, sigma, len(ids)) - cost
        owner = rng.integers(0, max(owners, 1), len(ids))
        frame = pl.DataFrame(
            {"account": ids, "option": np.full(len(ids), option), "value": value, "n": owner}
        ).with_columns(
            action=pl.lit(action),
            team=pl.lit(team, pl.String),
            owner=pl.format(f"{team}-{{}}", pl.col("n").cast(pl.String).str.zfill(4))
            if owners
            else pl.lit(None, pl.String),
        )
        parts.append(frame)
    team_id = pl.format("capacity.team-{}", "team")
    owner_id = pl.format("capacity.team-{}.per_owner:{}", "team", "owner")
    return (
        pl.concat(parts)
        .sort("account", "option")
        .select(
            pl.format("acct-{}", pl.col("account").cast(pl.String).str.zfill(7)).alias(
                "account_id"
            ),
            "option",
            "value",
            pl.when(pl.col("owner").is_not_null())
            .then(pl.concat_list(team_id, owner_id))
            .when(pl.col("team").is_not_null())
            .then(pl.concat_list(team_id))
            .otherwise(pl.lit([], pl.List(pl.String)))
            .alias("uses"),
            "action",
            "team",
            "owner",
        )
    )


def capacities() -> list[Capacity]:
    """Return the team and per-owner capacities of the benchmark."""
    limits = [
        Capacity("capacity.team-sales", SALES_TEAM),
        Capacity("capacity.team-service", SERVICE_TEAM),
        Capacity("capacity.team-digital", DIGITAL_TEAM),
    ]
    for team, owners, per_owner in [
        ("sales", SALES_OWNERS, SALES_PER_OWNER),
        ("service", SERVICE_OWNERS, SERVICE_PER_OWNER),
    ]:
        limits += [
            Capacity(f"capacity.team-{team}.per_owner:{team}-{n:04d}", per_owner)
            for n in range(owners)
        ]
    return limits


def guardrail_capacities() -> list[CapacityLimit]:
    """Return the same capacities as the guardrail filter's limits on team and owner."""
    owned = frozenset({"sales_outreach", "service_conversation"})
    per_owner = {f"sales-{n:04d}": SALES_PER_OWNER for n in range(SALES_OWNERS)}
    per_owner |= {f"service-{n:04d}": SERVICE_PER_OWNER for n in range(SERVICE_OWNERS)}
    return [
        CapacityLimit(
            "capacity.team",
            "team",
            {"sales": SALES_TEAM, "service": SERVICE_TEAM, "digital": DIGITAL_TEAM},
            actions=owned | {"digital_program"},
        ),
        CapacityLimit("capacity.per_owner", "owner", per_owner, actions=owned),
    ]


def greedy_by_value(options: pl.DataFrame) -> pl.DataFrame:
    """Return the greedy choice: options by value, each kept if its account and teams allow."""
    positive = options.filter(pl.col("value") > 0)
    return apply_guardrails(
        positive, [], guardrail_capacities(), priority="value", one_action_per_account=True
    ).allowed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    options = build_options(args.accounts, seed=args.seed)
    built = time.perf_counter() - started
    limits = capacities()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"options: {args.accounts:,} accounts, {options.height:,} rows "
        f"({options.height / args.accounts:.2f} per account), {len(limits):,} capacities; "
        f"built in {built:.1f}s; {os.cpu_count()} CPUs, load average {load}",
        flush=True,
    )

    timings: list[float] = []
    result: Allocation | None = None
    for run in range(1, args.runs + 1):
        result = None
        started = time.perf_counter()
        result = allocate(options, limits)
        timings.append(time.perf_counter() - started)
        print(f"  run {run}: {timings[-1]:.2f}s", flush=True)
    assert result is not None
    started = time.perf_counter()
    greedy = greedy_by_value(options)
    greedy_seconds = time.perf_counter() - started
    greedy_total = float(greedy["value"].sum())

    kept = apply_guardrails(
        result.chosen, [], guardrail_capacities(), priority="value", one_action_per_account=True
    ).allowed
    assert kept.height == result.chosen.height, "the guardrail filter cut an allocated option"
    assert result.chosen["account_id"].is_unique().all()

    median = statistics.median(timings)
    prices = result.shadow_prices
    print(
        f"\nallocate: {median:.2f}s (median of {len(timings)} runs) for {options.height:,} "
        f"options of {args.accounts:,} accounts; {args.accounts / median:,.0f} accounts/s"
    )
    print(
        f"  total value {result.total_value:,.0f}; upper bound {result.upper_bound:,.0f}; "
        f"dual gap {result.gap:.2e}; {result.chosen.height:,} accounts chosen; "
        f"{int(prices['binding'].sum()):,} of {prices.height:,} capacities priced"
    )
    for row in prices.head(3).iter_rows(named=True):
        print(
            f"  {row['constraint_id']:<28} limit {row['limit']:>6,} used {row['used']:>6,} "
            f"shadow price {row['shadow_price']:>10,.2f}"
        )
    print(
        f"greedy by value (the guardrail filter's capacity fill): total {greedy_total:,.0f} "
        f"in {greedy_seconds:.2f}s; allocation / greedy = {result.total_value / greedy_total:.5f} "
        f"(+{result.total_value - greedy_total:,.0f})"
    )
    print(f"the guardrail filter keeps all {kept.height:,} allocated options")


if __name__ == "__main__":
    main()
