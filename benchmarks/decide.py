"""Decision benchmark: every account's next move, from stored records to stored decisions.

    python benchmarks/decide.py                       # 1M accounts (about 20 candidates each)
    python benchmarks/decide.py --accounts 100000 --runs 3 --sample 300

Generates the synthetic company once (cached as Parquet under ``benchmarks/.data``). A fresh
worker process then loads the columns the context reads and, ``--runs`` times, runs the
whole batch path with the example playbook: context (from the raw records) → candidates →
guardrails → scoring → allocation → reasons → decisions written to a fresh SQLite
database. It prints each stage's median wall time, the total, its CPU time (all threads:
on a shared machine other processes inflate the wall time, not this) and the worker's
peak RSS.

The baseline, measured in the same worker, is the same logic run account by account (a
context built from one account's records, then the pipeline on it) — what deciding looks
like without vectorisation — timed on ``--sample`` random accounts and extrapolated.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from nextmove.decisions.candidates import catalog_of
from nextmove.decisions.context import COLUMNS_READ, ContextInputs, build_context
from nextmove.decisions.pipeline import DecisionBatch, decide_accounts
from nextmove.decisions.service import store_batch
from nextmove.governance.model import Actor, Role
from nextmove.learning.features import feature_names
from nextmove.learning.response import prior_model
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.policy import guardrail_policy
from nextmove.playbook.semantics import KnownCatalog, context_schema_for
from nextmove.sim import SimConfig, generate
from nextmove.store.database import create_database_engine
from nextmove.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent
PLAYBOOK = ROOT.parent / "examples" / "playbooks" / "b2b_saas.yaml"
KINDS = ("accounts", "contacts", "products", "holdings", "opportunities", "signals", "outcomes")
AS_OF = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--signals-per-account", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_work(args.worker, args.runs, args.sample)))
        return
    folder = _prepare(args.accounts, args.signals_per_account, args.seed)
    load = os.getloadavg()[0]
    command = [sys.executable, __file__, "--worker", str(folder), "--runs", str(args.runs)]
    command += ["--sample", str(args.sample)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    _report(result, args, load)


def _prepare(accounts: int, per_account: float, seed: int) -> Path:
    folder = ROOT / ".data" / f"decide-{accounts}-{per_account:g}-{seed}"
    if (folder / "done").exists():
        return folder
    started = time.perf_counter()
    company = generate(SimConfig(seed=seed, accounts=accounts, signals_per_account=per_account))
    folder.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        getattr(company, kind).write_parquet(folder / f"{kind}.parquet")
    (folder / "done").write_text("ok")
    print(f"generated {accounts:,} accounts in {time.perf_counter() - started:.0f} s → {folder}")
    return folder


def _work(folder: Path, runs: int, sample: int) -> dict[str, Any]:
    frames = {kind: _load(folder / f"{kind}.parquet", kind) for kind in KINDS}
    inputs = ContextInputs(**frames)
    playbook = load_playbook(PLAYBOOK.read_text(encoding="utf-8")).playbook
    catalog = catalog_of(frames["products"])
    schema = context_schema_for(playbook, KnownCatalog(products=frozenset(catalog.product_ids)))
    policy = guardrail_policy(playbook, schema)
    actions = tuple(name for name in playbook.actions if name != "no_action")
    model = prior_model(playbook, feature_names(playbook), catalog.product_ids, actions)
    rss_loaded = _rss_mb()
    print(f"loaded, RSS {rss_loaded:,.0f} MB", file=sys.stderr, flush=True)
    stages: dict[str, list[float]] = {"context": [], "decide": [], "store": [], "total": []}
    cpu: list[float] = []
    counts = (0, 0)
    for _ in range(runs):
        # One run at a time: its context and batch are gone before the next one starts.
        times, counts = _run(inputs, playbook, policy, catalog, model)
        cpu.append(times.pop("cpu"))
        for name, seconds in times.items():
            stages[name].append(seconds)
    accounts, acting = counts
    per_account = _naive(inputs, frames, playbook, policy, catalog, model, sample)
    return {
        "accounts": accounts,
        "acting": acting,
        "signals": frames["signals"].height,
        "stages": {name: statistics.median(times) for name, times in stages.items()},
        "totals": stages["total"],
        "cpu_s": statistics.median(cpu),
        "rss_loaded_mb": rss_loaded,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "naive_per_account_s": per_account,
    }


def _run(
    inputs: ContextInputs, playbook: Any, policy: Any, catalog: Any, model: Any
) -> tuple[dict[str, float], tuple[int, int]]:
    """Time one whole run by stage (and its CPU time); count its decisions and actions."""
    cpu_started = time.process_time()
    started = time.perf_counter()
    context = build_context(inputs, playbook, AS_OF)
    built = time.perf_counter()
    batch = decide_accounts(context, playbook, policy, catalog, model)
    decided = time.perf_counter()
    stored = decided + _store(batch)
    times = {
        "context": built - started,
        "decide": decided - built,
        "store": stored - decided,
        "total": stored - started,
        "cpu": time.process_time() - cpu_started,
    }
    print(
        f"run: context {times['context']:.2f} s, decide {times['decide']:.2f} s, "
        f"store {times['store']:.2f} s, CPU {times['cpu']:.2f} s, RSS {_rss_mb():,.0f} MB",
        file=sys.stderr,
        flush=True,
    )
    decisions = batch.decisions
    return times, (decisions.height, decisions.filter(pl.col("action") != "no_action").height)


def _load(path: Path, kind: str) -> pl.DataFrame:
    """The columns of one kind of records that the context reads (a store's query would
    select those alone too); the catalog keeps every column of the few products."""
    if kind == "products":
        return pl.read_parquet(path)
    present = pl.read_parquet_schema(path)
    return pl.read_parquet(path, columns=[c for c in present if c in COLUMNS_READ[kind]])


def _store(batch: DecisionBatch) -> float:
    """Store the run as the engine does: its log, its acting decisions, its audit entry."""
    with tempfile.TemporaryDirectory() as folder:
        engine = create_database_engine(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        started = time.perf_counter()
        store_batch(engine, Actor(user_id="bench", role=Role.ADMIN), batch, "batch", 1, AS_OF)
        engine.dispose()
        return time.perf_counter() - started


def _naive(
    inputs: ContextInputs,
    frames: dict[str, pl.DataFrame],
    playbook: Any,
    policy: Any,
    catalog: Any,
    model: Any,
    sample: int,
) -> float:
    """Seconds per account when the same logic runs one account at a time."""
    ids = frames["accounts"]["account_id"].sample(min(sample, frames["accounts"].height), seed=1)
    by_account = {
        kind: frame.filter(pl.col("account_id").is_in(ids.implode())).partition_by(
            "account_id", as_dict=True
        )
        for kind, frame in frames.items()
        if "account_id" in frame.columns and kind != "accounts"
    }
    accounts = frames["accounts"]
    started = time.perf_counter()
    for account_id in ids:
        own = {
            kind: parts.get((account_id,), frames[kind].head(0))
            for kind, parts in by_account.items()
        }
        single = ContextInputs(
            accounts=accounts.filter(pl.col("account_id") == account_id),
            products=frames["products"],
            **own,
        )
        context = build_context(single, playbook, AS_OF)
        decide_accounts(context, playbook, policy, catalog, model)
    return (time.perf_counter() - started) / len(ids)


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _report(result: dict[str, Any], args: argparse.Namespace, load: float) -> None:
    stages = result["stages"]
    accounts = result["accounts"]
    naive_total = result["naive_per_account_s"] * accounts
    print(
        f"decide benchmark · {accounts:,} accounts · {result['signals']:,} signals · "
        f"seed {args.seed} · {args.runs} runs · load at start {load:.2f} · {os.cpu_count()} cores"
    )
    for name in ("context", "decide", "store", "total"):
        print(f"  {name:<8} median {stages[name]:7.2f} s")
    print(f"  runs (total): {', '.join(f'{t:.2f}' for t in result['totals'])} s")
    print(f"  CPU time (all threads) median {result['cpu_s']:.2f} s: other load inflates wall time")
    print(f"  acting decisions: {result['acting']:,} of {accounts:,}")
    print(
        f"  peak RSS {result['peak_rss_mb']:,.0f} MB (records loaded: "
        f"{result['rss_loaded_mb']:,.0f} MB)"
    )
    print(
        f"  baseline: same logic account by account, {result['naive_per_account_s'] * 1000:.1f} "
        f"ms per account on {args.sample} accounts → {naive_total:,.0f} s for all"
    )
    print(f"  ratio: batch is {naive_total / stages['total']:,.0f}× the per-account loop")


if __name__ == "__main__":
    main()
