"""Agent loop benchmark: urgent signals → decisions → outbox → sent, sustained.

    .venv/bin/python benchmarks/loop.py              # 10,000 accounts, 30 s, both databases
    .venv/bin/python benchmarks/loop.py --databases sqlite --seconds 60 --batch 500
    .venv/bin/python benchmarks/loop.py --databases sqlite --profile 25   # where the time goes

Each database is measured in its own process (so peak memory is its own), on a fresh
SQLite file or a fresh PostgreSQL schema that is dropped afterwards. The synthetic
company (history ending today) is imported and the benchmark playbook applied: the
example ``b2b_saas.yaml`` with every action ``auto`` (its autonomy overrides dropped) and
its thresholds lowered as in ``benchmarks/measurement.py``, so the moves the rules allow
go to the outbox; every other rule (eligibility, consent, contact caps, quiet periods,
capacity, holdout) is the example's. Actions go to the dry-run connector.

The loop is ``nextmove.agent.Agent`` itself: its first cycle decides every account (the
daily batch, untimed; its outbox is drained), then each cycle is what ``nextmove run``
does between batches: ingest a micro-batch of ``--batch`` intent surges (urgent in the
playbook) for random accounts, find the accounts with urgent signals since the last
cycle, re-decide them (``decide_for``, actions written to the outbox in the decision's
transaction), and dispatch the outbox. The cycles run back to back for ``--seconds``.

Reported: events per second sustained over the run; the latency of each event from the
moment its micro-batch was handed to ``ingest`` to its outbox item's ``sent_at`` (events
whose decision sent something), and to its decision being stored (all events); and, as
a model of real arrivals, from an arrival time spread evenly over the previous cycle to
``sent_at`` (what an event also waits for its micro-batch); and a cycle's median time per
step. Baselines, measured in the same run on the same database for ``--baseline-seconds``
each: the same loop taking one event per cycle, and bare ``ingest`` of the same
micro-batches with no decision at all.

Contact caps and quiet periods hold across the run, so an account surging again soon
after a move is decided but sent nothing: the share of events that send an action falls
as the run goes on (it is printed), and a longer run sends less per event.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from nextmove import Engine
    from nextmove.agent import Agent
    from nextmove.decisions.service import DecisionRun
    from nextmove.domain import Signal

ROOT = Path(__file__).resolve().parent
PLAYBOOK = ROOT.parent / "examples" / "playbooks" / "b2b_saas.yaml"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HISTORY_DAYS = 90
TARGET_RATE = 1_000.0
TARGET_P99_MS = 250.0
WARMUP_CYCLES = 3


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=30.0, help="timed run per database")
    parser.add_argument("--batch", type=int, default=250, help="intent surges per cycle")
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="cProfile the timed run and print its top N functions (slows the run down)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.batch < 1 or args.seconds <= 0 or args.accounts < 100:
        parser.error("--batch ≥ 1, --seconds > 0 and --accounts ≥ 100 are needed")
    if args.worker:
        print(json.dumps(_work(args.worker, args)))
        return
    results = []
    for database in dict.fromkeys(args.databases):
        result = _run_worker(database, args)
        _print_result(result, args)
        results.append(result)
    _print_targets(results)


# -- the parent: one worker process per database ---------------------------------------


def _run_worker(database: str, args: argparse.Namespace) -> dict[str, Any]:
    if database == "sqlite":
        folder = ROOT / ".data" / f"loop-{args.accounts}-{args.seed}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "nextmove.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        url = args.postgres_url
    command = [sys.executable, __file__, *sys.argv[1:], "--worker", url]
    # stderr (progress, a profile, a failure's traceback) goes straight to the terminal.
    done = subprocess.run(command, check=False, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the {database} run failed (exit {done.returncode}), see above")
    result = dict(json.loads(done.stdout.strip().splitlines()[-1]))
    result["database"] = database
    return result


def _print_result(result: dict[str, Any], args: argparse.Namespace) -> None:
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[result["database"]]
    loop, single, bare = result["loop"], result["one_per_cycle"], result["ingest_only"]
    steps = loop["steps_p50"]
    lines = [
        f"\nloop · {name} · {args.accounts:,} accounts · micro-batches of {args.batch} "
        f"intent surges · {loop['seconds']:.1f} s",
        f"  sustained         {loop['events_per_s']:>7,.0f} events/s  ({loop['events']:,} events "
        f"in {loop['cycles']:,} cycles) · {loop['sent_per_s']:,.0f} actions sent/s",
        f"  ingest → sent     {_spread(loop['sent_latency'])}  ({loop['sent_events']:,} events, "
        f"{loop['sent_events'] / max(loop['events'], 1):.0%}, whose decision sent an action)",
        f"  ingest → decided  {_spread(loop['decided_latency'])}  (every event)",
        f"  arrival → sent    {_spread(loop['arrival_latency'])}  (arriving evenly during the "
        "previous cycle, so also waiting for its micro-batch)",
        f"  a cycle, median   {_ms(loop['cycle_p50'])}: ingest {_ms(steps['ingest'])} · "
        f"urgent query + decide_for + outbox {_ms(steps['decide'])} · "
        f"approvals sweep + dispatch {_ms(steps['dispatch'])} · "
        f"the rest (loop state, making the signals) {_ms(steps['rest'])}",
    ]
    if loop["unsent_actions"]:
        lines.append(f"  {loop['unsent_actions']:,} actions of the run were not sent by its end")
    lines += [
        f"  baseline, the same loop one event per cycle: {single['events_per_s']:,.1f} events/s "
        f"(ingest → decided p50 {_ms(single['decided_latency']['p50'])}) → micro-batched "
        f"{loop['events_per_s'] / single['events_per_s']:,.0f}x",
        f"  baseline, bare ingest of the same micro-batches, no decision: "
        f"{bare['events_per_s']:,.0f} events/s → the loop reaches "
        f"{loop['events_per_s'] / bare['events_per_s']:.2f}x of it",
        f"  peak RSS {result['peak_rss_mb']:,.0f} MB · setup: import "
        f"{result['setup']['import_s']:.1f} s, first cycle (every account decided, "
        f"{result['setup']['batch_actions']:,} actions sent) {result['setup']['batch_s']:.1f} s",
    ]
    print("\n".join(lines), flush=True)


def _print_targets(results: Sequence[dict[str, Any]]) -> None:
    print(
        f"\ntargets (for SQLite): ≥ {TARGET_RATE:,.0f} events/s sustained, "
        f"p99 ingest → sent ≤ {TARGET_P99_MS:.0f} ms"
    )
    for result in results:
        loop = result["loop"]
        rate, p99 = loop["events_per_s"], loop["sent_latency"]["p99"]
        if p99 is None:
            print(f"  {result['database']:>10}: {rate:,.0f} events/s, no action was sent")
            continue
        met = rate >= TARGET_RATE and p99 * 1000 <= TARGET_P99_MS
        print(
            f"  {result['database']:>10}: {rate:,.0f} events/s, p99 {_ms(p99)} → "
            f"{'met' if met else 'not met'}"
        )


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:,.0f} ms"


def _spread(latency: dict[str, float | None]) -> str:
    return (
        f"p50 {_ms(latency['p50']):>8} · p99 {_ms(latency['p99']):>8} · "
        f"max {_ms(latency['max']):>8}"
    )


# -- the worker: one database ----------------------------------------------------------


def _work(url: str, args: argparse.Namespace) -> dict[str, Any]:
    with _fresh_database(url) as scoped:
        return _measure(scoped, args)


@contextmanager
def _fresh_database(url: str) -> Iterator[str]:
    """Yield ``url``, or for PostgreSQL a URL on a new schema dropped afterwards."""
    if not url.startswith("postgresql"):
        yield url
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"nm_bench_loop_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield (
                make_url(url)
                .update_query_dict({"options": f"-csearch_path={schema}"})
                .render_as_string(False)
            )
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@dataclass
class _Cycle:
    """One cycle's micro-batch: its events, and when each step of the cycle ended."""

    accounts: list[str]
    arrivals: list[datetime]
    ingested_at: datetime
    landed_at: datetime
    decided_at: datetime | None = None
    answered_at: datetime | None = None
    run_id: int | None = None


@dataclass
class _SignalStream:
    """The loop's surroundings: ``batch`` intent surges for random accounts each cycle.

    Their ``occurred_at`` is spread evenly over the time since the previous cycle began,
    so each cycle's urgent-signal query (``(watermark, now]``) finds exactly them.
    """

    accounts: list[str]
    products: list[str]
    rng: random.Random
    batch: int = 0
    recording: bool = False
    cycles: list[_Cycle] = field(default_factory=list)
    current: _Cycle | None = field(default=None, init=False)
    previous: datetime | None = field(default=None, init=False)
    serial: int = field(default=0, init=False)

    def signals(self, count: int, since: datetime, until: datetime) -> list[Signal]:
        from nextmove.domain import Signal

        step = (until - since) / count
        made = []
        for index in range(count):
            self.serial += 1
            made.append(
                Signal(
                    event_id=f"bench-loop-{self.serial}",
                    account_id=self.rng.choice(self.accounts),
                    signal_type="intent_surge",
                    product_id=self.rng.choice(self.products),
                    value=float(self.rng.randint(60, 100)),
                    occurred_at=since + step * (index + 1),
                    source="bombora",
                )
            )
        return made

    def observe(self, engine: Engine, now: datetime) -> int:
        since, self.previous = self.previous, now
        self.current = None
        if self.batch == 0 or since is None:
            return 0
        signals = self.signals(self.batch, since, now)
        ingested_at = datetime.now(UTC)
        engine.ingest(signals=signals)
        self.current = _Cycle(
            accounts=[signal.account_id for signal in signals],
            arrivals=[signal.occurred_at for signal in signals],
            ingested_at=ingested_at,
            landed_at=datetime.now(UTC),
        )
        return len(signals)

    def review(self, engine: Engine, now: datetime, run: DecisionRun | None) -> None:
        if self.current is not None:
            self.current.decided_at = datetime.now(UTC)
            self.current.run_id = None if run is None else run.run_id

    def answer(self, engine: Engine, now: datetime) -> None:
        if self.current is not None:
            self.current.answered_at = datetime.now(UTC)
            if self.recording:
                self.cycles.append(self.current)


def _benchmark_playbook() -> str:
    """The example playbook with every action ``auto`` and lower thresholds (see above)."""
    content = yaml.safe_load(PLAYBOOK.read_text(encoding="utf-8"))
    for action in content["actions"].values():
        action["autonomy"] = "auto"
    for spec in content["autonomy"].get("actions", {}).values():
        spec.pop("overrides", None)
    content["thresholds"] = {
        "min_expected_value": 0,
        "min_confidence": 0.5,
        "by_action": {"sales_outreach": {"min_expected_value": 1500}},
    }
    return yaml.safe_dump(content, sort_keys=False)


def _measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    import tempfile

    from sqlalchemy import select

    from nextmove import Engine
    from nextmove.agent import Agent
    from nextmove.loop.model import LoopSchedule
    from nextmove.sim import SimConfig, generate, write_company
    from nextmove.store import tables as t

    label = "postgresql" if url.startswith("postgresql") else "sqlite"
    today = datetime.now(UTC).date()
    config = SimConfig(
        seed=args.seed, accounts=args.accounts, start=today - timedelta(days=HISTORY_DAYS - 1)
    )
    with tempfile.TemporaryDirectory() as scratch, Engine.open(url) as engine:
        _note(label, f"generating and importing {args.accounts:,} accounts")
        manifest = write_company(generate(config), Path(scratch) / "company", fmt="parquet")
        started = time.perf_counter()
        engine.import_folder(manifest.parent)
        import_s = time.perf_counter() - started
        engine.apply_playbook(_benchmark_playbook(), message="benchmarks/loop.py")
        with engine.database.connect() as connection:
            accounts = list(connection.execute(select(t.accounts.c.account_id)).scalars())
            products = list(connection.execute(select(t.products.c.product_id)).scalars())
        stream = _SignalStream(accounts=accounts, products=products, rng=random.Random(args.seed))
        schedule = LoopSchedule(
            batch_every=timedelta(days=1), learn_every=None, poll_seconds=0.0, inbox=None
        )
        agent = Agent(engine, schedule=schedule, surroundings=[stream])

        _note(label, "first cycle: the batch decision of every account")
        started = time.perf_counter()
        _cycle(agent)
        batch_actions = _drain(engine)
        batch_s = time.perf_counter() - started
        stream.batch = args.batch
        for _ in range(WARMUP_CYCLES):
            _cycle(agent)

        _note(label, f"timed run: {args.seconds:g} s of micro-batches of {args.batch}")
        profiler = cProfile.Profile() if args.profile else None
        loop = _timed(engine, agent, stream, args.seconds, profiler)
        if profiler is not None:
            _print_profile(profiler, args.profile, label)

        _note(label, "baselines: one event per cycle, then bare ingest")
        stream.batch = 1
        single = _timed(engine, agent, stream, args.baseline_seconds, None)
        bare = _bare_ingest(engine, stream, args.batch, args.baseline_seconds)
    return {
        "setup": {"import_s": import_s, "batch_s": batch_s, "batch_actions": batch_actions},
        "loop": loop,
        "one_per_cycle": single,
        "ingest_only": bare,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _cycle(agent: Agent) -> float:
    started = time.perf_counter()
    report = agent.cycle()
    if report.error is not None:
        raise SystemExit(f"a loop cycle failed: {report.error}")
    return time.perf_counter() - started


def _drain(engine: Engine) -> int:
    """Send everything due (the first batch's outbox); return how many were sent."""
    sent = 0
    while True:
        passed = engine.dispatch()
        sent += passed.sent
        if passed.claimed < engine.dispatch_batch_size:
            return sent


def _timed(
    engine: Engine,
    agent: Agent,
    stream: _SignalStream,
    seconds: float,
    profiler: cProfile.Profile | None,
) -> dict[str, Any]:
    stream.cycles, stream.recording = [], True
    durations: list[float] = []
    if profiler is not None:
        profiler.enable()
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        durations.append(_cycle(agent))
    elapsed = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
    stream.recording = False
    late = _drain(engine)  # items a full outbox left for later are part of the latency
    sent_at, unsent = _sent_times(engine, [c.run_id for c in stream.cycles if c.run_id])
    to_sent, to_decided, from_arrival = [], [], []
    steps: dict[str, list[float]] = {"ingest": [], "decide": [], "dispatch": [], "rest": []}
    for cycle, duration in zip(stream.cycles, durations, strict=True):
        assert cycle.decided_at is not None and cycle.answered_at is not None
        to_decided += [(cycle.decided_at - cycle.ingested_at).total_seconds()] * len(cycle.accounts)
        for account, arrived in zip(cycle.accounts, cycle.arrivals, strict=True):
            sent = sent_at.get((cycle.run_id or 0, account))
            if sent is not None:
                to_sent.append((sent - cycle.ingested_at).total_seconds())
                from_arrival.append((sent - arrived).total_seconds())
        ends = (cycle.ingested_at, cycle.landed_at, cycle.decided_at, cycle.answered_at)
        spans = [(b - a).total_seconds() for a, b in zip(ends, ends[1:], strict=False)]
        for name, span in zip(("ingest", "decide", "dispatch"), spans, strict=True):
            steps[name].append(span)
        steps["rest"].append(duration - sum(spans))
    events = sum(len(cycle.accounts) for cycle in stream.cycles)
    return {
        "seconds": elapsed,
        "cycles": len(durations),
        "cycle_p50": _percentile(durations, 0.5),
        "steps_p50": {name: _percentile(spans, 0.5) for name, spans in steps.items()},
        "events": events,
        "events_per_s": events / elapsed,
        "sent_events": len(to_sent),
        "sent_per_s": len(sent_at) / elapsed,
        "sent_after_run": late,
        "unsent_actions": unsent,
        "sent_latency": _latency(to_sent),
        "decided_latency": _latency(to_decided),
        "arrival_latency": _latency(from_arrival),
    }


def _sent_times(
    engine: Engine, run_ids: Sequence[int]
) -> tuple[dict[tuple[int, str], datetime], int]:
    """(run, account) → when its outbox item was sent; and how many items were not sent."""
    from sqlalchemy import select

    from nextmove.store import tables as t

    outbox = t.outbox
    sent: dict[tuple[int, str], datetime] = {}
    unsent = 0
    query = select(outbox.c.run_id, outbox.c.account_id, outbox.c.sent_at).where(
        outbox.c.run_id.in_(list(run_ids))
    )
    with engine.database.connect() as connection:
        for run_id, account_id, sent_at in connection.execute(query):
            if sent_at is None:
                unsent += 1
            else:
                sent[(int(run_id), str(account_id))] = sent_at
    return sent, unsent


def _bare_ingest(
    engine: Engine, stream: _SignalStream, batch: int, seconds: float
) -> dict[str, Any]:
    """The same micro-batches through ``engine.ingest`` alone, back to back."""
    events = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        now = datetime.now(UTC)
        signals = stream.signals(batch, now - timedelta(seconds=1), now)
        engine.ingest(signals=signals)
        events += len(signals)
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "events": events, "events_per_s": events / elapsed}


def _percentile(values: Sequence[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _latency(values: Sequence[float]) -> dict[str, float | None]:
    return {
        "p50": _percentile(values, 0.5),
        "p99": _percentile(values, 0.99),
        "max": max(values) if values else None,
    }


def _print_profile(profiler: cProfile.Profile, top: int, label: str) -> None:
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"\n── cProfile of the timed run on {label} (cumulative) ──", file=sys.stderr)
    print(text.getvalue(), file=sys.stderr)


def _note(label: str, message: str) -> None:
    print(f"[{label}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
