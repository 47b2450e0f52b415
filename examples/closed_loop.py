"""Drive nextmove day by day against the synthetic company: decide, act, observe, learn.

    .venv/bin/python examples/closed_loop.py [--accounts 2000] [--days 30] [DATABASE_URL]

Each simulated day the program feeds the day's signals in, asks the engine for every
account's next move, carries out the moves the playbook lets run on their own (and, in
this simulation, the ones waiting for approval, as if a person approved them), lets the
company answer, and records its outcomes. Once a week the engine refits its models. The
simulated company knows the truth, so the script can say how much value the moves were
really worth, next to the best possible moves (the oracle's).
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime, time
from pathlib import Path

import polars as pl

from nextmove import Engine
from nextmove.sim import SimAction, SimConfig, World, generate, write_company

PLAYBOOK = Path(__file__).resolve().parent / "playbooks" / "b2b_saas.yaml"
CARRIED_OUT = ("auto", "approve")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url", nargs="?")
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="nextmove-loop-"))
    url = args.database_url or f"sqlite:///{workdir / 'nextmove.db'}"

    company = generate(SimConfig(seed=args.seed, accounts=args.accounts))
    manifest = write_company(company, workdir / "company", fmt="parquet")
    world = World(company)
    gained = best = 0.0
    with Engine.open(url) as engine:
        engine.import_folder(manifest.parent)
        engine.apply_playbook(PLAYBOOK, message="example rules")
        for day in range(args.days):
            today = world.day
            engine.ingest(signals=world.signals_for_day())
            run = engine.decide(as_of=datetime.combine(today, time(12, 0), tzinfo=UTC))
            actions = _carried_out(run.decisions, today)
            gained += world.policy_value(actions)
            best += float(world.oracle_policy()["expected_value"].sum())
            engine.record_outcomes(world.step(actions))
            if day % 7 == 6:
                report = engine.learn(as_of=datetime.combine(world.day, time(0), tzinfo=UTC))
                print(f"  learned model {report.model_version} from {report.rows:,} rows")
            print(
                f"{today}: {len(actions):>4} moves carried out, "
                f"value so far {gained:>12,.0f} (oracle {best:>12,.0f})"
            )
    share = gained / best if best else 0.0
    print(f"\n{args.days} days: {share:.0%} of the oracle's value · database {url}")


def _carried_out(decisions: pl.DataFrame, today: object) -> list[SimAction]:
    acting = decisions.filter(
        (pl.col("action") != "no_action") & pl.col("autonomy").is_in(CARRIED_OUT)
    )
    return [
        SimAction(
            account_id=row["account_id"],
            motion=row["action"],
            day=today,  # type: ignore[arg-type]
            product_id=row["product_id"],
        )
        for row in acting.iter_rows(named=True)
    ]


if __name__ == "__main__":
    main()
