"""Measurement on the synthetic company: lift coverage, drift-detection delay, OPE accuracy.

    .venv/bin/python benchmarks/measurement.py [--seeds 20] [--accounts 1500] [--days 28]
        [--change 14] [--engagement-days 2] [--learn-every 7] [--monitor-daily] [--stable]
        [--ope-seeds 3]

Per seed, the engine runs a closed loop day by day (signals in, decide, the moves the
playbook lets run carried out, outcomes recorded, a refit every ``--learn-every`` days, 0
for never: the engine then values moves by the playbook's priors) while the company's
digital programme answers half as well, and its emails get half the clicks, from loop day
``--change`` on (``--stable``: never).

* **Lift coverage.** A twin of the company, stepped with the same random numbers and no
  moves at all, gives every account's revenue without the engine; the true lift is the
  mean over the treated (not held-out) accounts of revenue with minus revenue without.
  The benchmark reports how often ``impact``'s 95% interval covers it.
* **Drift delay.** Days from the change to the first alarm of each kind (engagement,
  conversion, input), and alarms raised before the change (false). ``monitor`` runs once
  at the end over the whole run, each alarm dated the day a daily pass would have raised
  it; ``--monitor-daily`` calls it every day instead (slower, same detectors).
* **OPE.** For a few seeds, candidate playbooks are replayed on each day's contexts and
  valued by the simulator's truth (uplift × value − cost, next day); ``evaluate`` with a
  one-day reward window estimates the same from the logged decisions.

The benchmark playbook is the example one with the thresholds lowered (so the digital
programme is used daily) and a 20% holdout. Twenty seeds of 2,000 accounts over 28 days
without refits take about 12 minutes on two cores:

    .venv/bin/python benchmarks/measurement.py --seeds 20 --accounts 2000 --learn-every 0 \
        --ope-seeds 0
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time as timer
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from nextmove import Engine
from nextmove.domain import Outcome
from nextmove.measurement import service
from nextmove.measurement.model import DriftAlarm, DriftReport, Estimate, PolicyEvaluation
from nextmove.measurement.monitoring import MonitorSettings
from nextmove.measurement.repository import MeasurementRepository
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import Playbook
from nextmove.sim import SimAction, SimConfig, World, generate, write_company
from nextmove.store import UnitOfWork

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "playbooks" / "b2b_saas.yaml"
CARRIED_OUT = ("auto", "approve", "recommend")
"""Every move is carried out (a person acts on the approvals and recommendations), so
what was logged is what happened."""
HISTORY_DAYS = 30
CHANGE_DETECTORS = ("engagement", "conversion", "input")
"""Calibration compares expected with measured lift: a finding about the model, not a
change, so it is no false alarm."""


def playbook_text(**changes: object) -> str:
    """The benchmark playbook (see the module docstring), with ``changes`` on top."""
    content = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    content["thresholds"] = {
        "min_expected_value": 0,
        "min_confidence": 0.5,
        "by_action": {"sales_outreach": {"min_expected_value": 1500}},
    }
    content["measurement"]["holdout_share"] = 0.2
    for path, value in changes.items():
        *head, last = path.split(".")
        node = content
        for key in head:
            node = node[key]
        node[last] = value
    return yaml.safe_dump(content, sort_keys=False)


CANDIDATES = {
    "champion": {},
    "no digital programme": {"actions.digital_program.autonomy": "never"},
    "strict thresholds": {"thresholds.min_expected_value": 2000},
}


def noon(day: date) -> datetime:
    """When the loop decides: in the evening, so a one-day window holds the next day's
    outcomes (the simulated company answers a move the day after it)."""
    return datetime.combine(day, time(20), tzinfo=UTC)


def carried_out(decisions: pl.DataFrame, today: date) -> list[SimAction]:
    acting = decisions.filter(
        (pl.col("action") != "no_action") & pl.col("autonomy").is_in(CARRIED_OUT)
    )
    return [
        SimAction(account_id=a, motion=m, day=today, product_id=p)
        for a, m, p in acting.select("account_id", "action", "product_id").iter_rows()
    ]


def revenue(outcomes: pl.DataFrame) -> pl.DataFrame:
    return (
        outcomes.filter(pl.col("outcome_type") == "purchase")
        .group_by("account_id")
        .agg(pl.col("value").sum())
    )


def true_gain(world: World, decisions: pl.DataFrame, playbook: Playbook) -> float:
    """Sum of uplift × value − cost of the candidate's moves, as the simulator knows it."""
    truth = world.company.truth
    accounts = {a: i for i, a in enumerate(truth.account_ids)}
    products = {p: j for j, p in enumerate(truth.product_ids)}
    total = 0.0
    for account, action, product in decisions.filter(pl.col("target_action") != "no_action").select(
        "account_id", "target_action", "target_product"
    ).iter_rows():  # fmt: skip
        uplift = world.true_uplift(account, action, product)
        column = products[truth.product_aliases.get(product, product)] if product else None
        value = float(truth.value[accounts[account], column]) if column is not None else 0.0
        total += uplift * value - playbook.actions[action].cost
    return total


@dataclass
class SeedResult:
    """What one seed's closed loop measured against the simulator's truth."""

    seed: int
    lift: Estimate
    true_lift: float
    delays: dict[str, int]
    """Days from the change to the first alarm of each kind (negative: before it)."""
    false_alarms: list[str]
    """Kinds of change alarm raised before the change (or at all, on a stable company)."""
    ope: dict[str, tuple[PolicyEvaluation, float]] | None = None

    @property
    def covered(self) -> bool:
        return self.lift.covers(self.true_lift)


def run_seed(seed: int, args: argparse.Namespace, ope: bool) -> SeedResult:
    change_day = HISTORY_DAYS - 1 + (args.days + 365 if args.stable else args.change)
    config = SimConfig(seed=seed, accounts=args.accounts, history_days=HISTORY_DAYS,
                       change_day=change_day)  # fmt: skip
    company = generate(config)
    workdir = Path(tempfile.mkdtemp(prefix="nextmove-measure-"))
    manifest = write_company(company, workdir / "company", fmt="parquet")
    world, twin = World(company), World(company)
    changed_on = world.day + timedelta(days=args.change)
    candidates = {n: load_playbook(playbook_text(**c)).playbook for n, c in CANDIDATES.items()}
    truths = dict.fromkeys(CANDIDATES, 0.0)
    decided = 0
    with_moves, without = [], []
    settings = MonitorSettings(
        lookback_days=args.days + 1, reference_days=7, conversion_days=2, recent_days=3,
        engagement_days=args.engagement_days,
    )  # fmt: skip
    alarms: dict[str, DriftAlarm] = {}
    with Engine.open(f"sqlite:///{workdir / 'nextmove.db'}") as engine:
        engine.import_folder(manifest.parent)
        engine.apply_playbook(_file(workdir), message="benchmark rules")
        start = noon(world.day)
        for day in range(args.days):
            today = world.day
            engine.ingest(signals=world.signals_for_day())
            run = engine.decide(as_of=noon(today))
            if ope:
                with UnitOfWork(engine.database) as uow:
                    log = MeasurementRepository(uow.connection).logged(since=noon(today))
                for name, candidate in candidates.items():
                    chosen = service.candidate_decisions(
                        engine=engine.database, candidate=candidate, logged=log, as_of=noon(today)
                    )
                    truths[name] += true_gain(world, chosen, candidate)
                decided += run.decisions.height
            outcomes = world.step_frame(carried_out(run.decisions, today))
            with_moves.append(outcomes)
            without.append(twin.step_frame([]))
            engine.record_outcomes(_records(outcomes))
            if args.learn_every and day % args.learn_every == args.learn_every - 1:
                engine.learn(as_of=noon(world.day) - timedelta(hours=12))
            if args.monitor_daily and day >= 7:
                _first_alarms(alarms, engine.monitor(as_of=noon(world.day), settings=settings))
        end = noon(world.day) + timedelta(hours=12)
        if not args.monitor_daily:
            # The detectors look back over the whole run, so one pass at the end finds every
            # alarm a daily pass would have, each dated the day it would have fired.
            _first_alarms(alarms, engine.monitor(as_of=end, settings=settings, adapt=False))
        impact = engine.impact(as_of=end, dimensions=())
        overall = impact.row()
        assert overall is not None
        treated = _treated(engine, start, end)
        gain = (
            revenue(pl.concat(with_moves))
            .join(revenue(pl.concat(without)), on="account_id", how="full", coalesce=True)
            .fill_null(0.0)
        )
        delta = gain.filter(pl.col("account_id").is_in(list(treated))).select(
            (pl.col("value") - pl.col("value_right")).sum()
        ).item()  # fmt: skip
        true_lift = float(delta) / len(treated)
        result = SeedResult(
            seed=seed, lift=overall.lift, true_lift=true_lift,
            delays={kind: (a.detected_on - changed_on).days for kind, a in alarms.items()},
            false_alarms=sorted(
                k for k, a in alarms.items()
                if k in CHANGE_DETECTORS and (args.stable or a.detected_on < changed_on)
            ),
        )  # fmt: skip
        if ope:
            result.ope = {
                name: (
                    engine.evaluate(candidate, as_of=end, runs=args.days, reward_days=1),
                    truths[name] / decided,
                )
                for name, candidate in candidates.items()
            }
    shutil.rmtree(workdir, ignore_errors=True)
    return result


def _first_alarms(found: dict[str, DriftAlarm], report: DriftReport) -> None:
    """Keep the earliest alarm of each kind (conversion, input, engagement, calibration)."""
    for alarm in report.alarms:
        known = found.get(alarm.kind)
        if known is None or alarm.detected_on < known.detected_on:
            found[alarm.kind] = alarm


def _file(workdir: Path) -> Path:
    path = workdir / "playbook.yaml"
    path.write_text(playbook_text(), encoding="utf-8")
    return path


def _records(outcomes: pl.DataFrame) -> list[Outcome]:
    return [Outcome.model_validate(row) for row in outcomes.iter_rows(named=True)]


def _treated(engine: Engine, start: datetime, end: datetime) -> list[str]:
    with UnitOfWork(engine.database) as uow:
        log = MeasurementRepository(uow.connection).logged(since=start, until=end)
    return log.filter(~pl.col("holdout"))["account_id"].unique().to_list()


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run from this one on")
    parser.add_argument("--accounts", type=int, default=1500)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--change", type=int, default=14, help="loop day the programme weakens")
    parser.add_argument("--stable", action="store_true", help="no change: count false alarms")
    parser.add_argument("--engagement-days", type=int, default=2)
    parser.add_argument(
        "--learn-every", type=int, default=7, help="refit every N days (0: priors only)"
    )
    parser.add_argument(
        "--monitor-daily", action="store_true", help="call monitor every day, as in production"
    )
    parser.add_argument("--ope-seeds", type=int, default=3)
    return parser.parse_args()


def _print_seed(result: SeedResult) -> None:
    lift = result.lift
    delays = ", ".join(f"{k} {d:+d}" for k, d in sorted(result.delays.items())) or "none"
    print(
        f"seed {result.seed:>2}: lift {lift.value:>8,.1f} [{lift.low:>8,.1f}, {lift.high:>8,.1f}]"
        f"  true {result.true_lift:>8,.1f}  covered {result.covered!s:>5}"
        f"  first alarm (days after the change): {delays}"
        f"  false: {', '.join(result.false_alarms) or 'none'}",
        flush=True,
    )


def _print_drift(results: list[SeedResult], args: argparse.Namespace) -> None:
    runs = len(results)
    kinds = sorted({k for r in results for k in r.delays})
    for kind in kinds if not args.stable else []:
        delays = [r.delays[kind] for r in results if kind in r.delays and r.delays[kind] >= 0]
        if delays:
            print(
                f"{kind} drift flagged in {len(delays)}/{runs} runs; days after the change: "
                f"median {statistics.median(delays):g}, min {min(delays)}, max {max(delays)}"
                f" (per seed: {' '.join(str(d) for d in delays)})"
            )
        else:
            print(f"{kind} drift flagged in 0/{runs} runs after the change")
    where = "at all (stable company)" if args.stable else "before the change"
    print(f"runs with a false alarm {where}: {sum(bool(r.false_alarms) for r in results)}/{runs}")


def _print_ope(results: list[SeedResult]) -> None:
    ope = [(r.seed, r.ope) for r in results if r.ope]
    if not ope:
        return
    print("\nOPE: incremental value per decision over doing nothing (1-day reward)")
    print(f"{'seed':>4} {'candidate':<22} {'truth':>8} " + " ".join(
        f"{m + ' [95%]':>26}" for m in ("ips", "snips", "dr")) + "  ess")  # fmt: skip
    hits = {m: 0 for m in ("ips", "snips", "dr")}
    for seed, evaluations in ope:
        for name, (found, truth) in evaluations.items():
            cells = []
            for m in hits:
                e = found.estimate(m).estimate
                hits[m] += e.covers(truth)
                cells.append(f"{e.value:>8.1f} [{e.low:>7.1f},{e.high:>7.1f}]")
            ess = found.estimate("ips").effective_sample_size
            row = " ".join(f"{c:>26}" for c in cells)
            print(f"{seed:>4} {name:<22} {truth:>8.1f} {row}  {ess:,.0f}")
    total = sum(len(evaluations) for _, evaluations in ope)
    print("covered: " + ", ".join(f"{m} {h}/{total}" for m, h in hits.items()))


def main() -> None:
    args = _options()
    began = timer.perf_counter()
    results = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        results.append(run_seed(seed, args, ope=seed < args.ope_seeds))
        _print_seed(results[-1])
    covered = sum(r.covered for r in results)
    print(f"\nlift coverage: {covered}/{len(results)} = {covered / len(results):.0%} "
          "(95% intervals)")  # fmt: skip
    _print_drift(results, args)
    _print_ope(results)
    print(f"\n{timer.perf_counter() - began:,.0f} s")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
