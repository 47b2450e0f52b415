"""Real-time decision latency: ``Engine.decide_for`` on one account, in process.

    python benchmarks/decide_for.py                 # 10,000-account company, 200 calls
    python benchmarks/decide_for.py --accounts 2000 --calls 100

Imports the synthetic company into a fresh SQLite database (cached under
``benchmarks/.data``), applies the example playbook, decides every account once (a batch
run), then times ``decide_for`` on random accounts: read the account's records, build its
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
from datetime import UTC, datetime
from pathlib import Path

from nextmove import Engine
from nextmove.sim import SimConfig, generate, write_company

ROOT = Path(__file__).resolve().parent
PLAYBOOK = ROOT.parent / "examples" / "playbooks" / "b2b_saas.yaml"
AS_OF = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=1_000)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
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
        engine.decide(as_of=AS_OF)
        batch_per_account = (time.perf_counter() - started) / args.accounts
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
