"""Real-time decision latency: ``Engine.decide_for`` on one account, in process.

    python benchmarks/decide_for.py                 # 10,000-account company, 200 calls
    python benchmarks/decide_for.py --accounts 2000 --calls 100

Imports the synthetic company into a fresh SQLite database (cached under
``benchmarks/.data``), applies the example playbook, decides every account once (a batch
run) four days earlier in the same week (its moves are touches inside the contact caps'
windows, past the quiet days after a touch, and use the week's capacity), then times
``decide_for`` on random accounts: read the account's records, build its
context, decide, store the decision and its audit entry. The first ``--warmup`` calls are
timed apart (a fresh process builds its caches then: the rules compiled, the writers set
up) and their slowest is printed; the percentiles are those of the ``--calls`` after them,
a long-running process's steady state. Prints p50 / p99 / max overall and for the calls
that decided to act, and, as the baseline measured in the same run, a whole batch run's
time per account.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from nextmove import Engine
from nextmove.decisions.repository import DecisionRepository
from nextmove.sim import SimConfig, generate, write_company
from nextmove.store import UnitOfWork

ROOT = Path(__file__).resolve().parent
PLAYBOOK = ROOT.parent / "examples" / "playbooks" / "b2b_saas.yaml"
AS_OF = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
BATCH_AS_OF = AS_OF - timedelta(days=4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=1_000)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--busy-week",
        type=int,
        default=0,
        help="store this many more acting decisions earlier in the week first",
    )
    args = parser.parse_args()
    folder = ROOT / ".data" / f"decide-for-{args.accounts}-{args.seed}"
    database = folder / "nextmove.db"
    if database.exists():
        database.unlink()
    company = generate(SimConfig(seed=args.seed, accounts=args.accounts))
    manifest = write_company(company, folder / "company", fmt="parquet")
    with Engine.open(f"sqlite:///{database}") as engine:
        engine.import_folder(manifest.parent)
        engine.apply_playbook(PLAYBOOK, message="benchmark")
        started = time.perf_counter()
        batch = engine.decide(as_of=BATCH_AS_OF)
        batch_per_account = (time.perf_counter() - started) / args.accounts
        if args.busy_week:
            _fill_week(engine, batch.run_id, args.busy_week, random.Random(args.seed))
        ids = company.accounts["account_id"].to_list()
        picker = random.Random(args.seed)
        warmup: list[float] = []
        latencies: list[float] = []
        acting: list[float] = []
        for call in range(args.warmup + args.calls):
            account_id = picker.choice(ids)
            started = time.perf_counter()
            run = engine.decide_for(account_id, as_of=AS_OF)
            took = time.perf_counter() - started
            if call < args.warmup:
                warmup.append(took)
                continue
            latencies.append(took)
            if run.decisions["action"][0] != "no_action":
                acting.append(took)
    print(
        f"decide_for · {args.accounts:,} accounts on SQLite · {args.calls} calls "
        f"after {args.warmup} warm-up calls (slowest {max(warmup, default=0) * 1000:.1f} ms)"
    )
    print(f"  all:    {_percentiles(latencies)}")
    print(f"  acting: {_percentiles(acting)} ({len(acting)} calls)")
    print(f"  baseline: a batch run costs {batch_per_account * 1000:.2f} ms per account")
    if args.busy_week:
        print(f"  with {args.busy_week:,} more acting decisions stored earlier this week")


def _fill_week(engine: Engine, run_id: int, count: int, picker: random.Random) -> None:
    """Store ``count`` acting decisions on the days before as_of in its week, as busy batch
    runs would have: of an action the playbook does not have, so they take nobody's
    capacity, and what they cost is reading the week's use."""
    as_of = [AS_OF - timedelta(days=picker.randint(0, AS_OF.weekday())) for _ in range(count)]
    filler = pl.DataFrame(
        {
            "run_id": [run_id] * count,
            "account_id": [f"filler-{i}" for i in range(count)],
            "action": ["benchmark_filler"] * count,
            "product_id": [None] * count,
            "as_of": as_of,
            "expected_value": [1.0] * count,
            "score": [1.0] * count,
            "uplift": [0.01] * count,
            "confidence": [0.9] * count,
            "propensity": [1.0] * count,
            "explored": [False] * count,
            "holdout": [False] * count,
            "autonomy": [picker.choice(["auto", "approve", "recommend"]) for _ in range(count)],
            "owner_id": [f"filler-owner-{picker.randint(0, 499)}" for _ in range(count)],
            "reasons": ["{}"] * count,
            "playbook_version": [1] * count,
            "model_version": ["filler"] * count,
        },
        schema_overrides={"product_id": pl.String, "as_of": pl.Datetime("us", "UTC")},
    )
    with UnitOfWork(engine.database) as uow:
        DecisionRepository(uow.connection).add_decisions(filler)
        uow.commit()


def _percentiles(latencies: list[float]) -> str:
    if not latencies:
        return "none"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:.1f} ms · p99 {p99 * 1000:.1f} ms · "
        f"max {ordered[-1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
