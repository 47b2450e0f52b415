"""Decision quality: the engine against simple policies, a learning peer and an oracle.

    .venv/bin/python benchmarks/decision_quality.py [--accounts 3000] [--days 120]
        [--seeds 11] [--policies engine rules ...] [--json results.json]

Every policy runs the same closed loop on its own copy of the same synthetic company,
from the same state, with the same random numbers (the world's draws depend only on the
seed and the day): each simulated day the day's signals land, the policy decides every
account through the engine's own pipeline — the same guardrails, contact caps, capacity,
holdout and allocation, only the scoring differs — the moves it makes are carried out
(people follow the approvals and recommendations), and the company answers. Halfway
through, the digital programme's response halves (the mid-run change).

The value of a day's moves is what the simulator's hidden truth says they are worth:
uplift × the account's value of the product − expected harm (unsubscribes, churn) − the
motion's cost from the playbook. Doing nothing is worth 0, so each policy's total is its
incremental value over no action; it is reported as a share of the oracle's, per half.

Policies: ``engine`` (nextmove's response model, refitted weekly and its champion updated
online daily in between), ``random``, ``rules`` (interest → sales for mid/ent, email for
small; open ticket → service), ``propensity``
(lead scoring: the likeliest buyers, refitted weekly), ``vowpal_wabbit``
(``--cb_explore_adf`` on the same features, learning daily from the same outcomes),
``feature_ceiling`` (the truth averaged over accounts that look alike in the data: the
most any policy reading the data could know), ``oracle`` (every move's true value).
Every policy acts on any move it values above zero (the playbook's value thresholds are
a company's appetite for risk, not a guardrail); only the engine explores.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from nextmove import Engine
from nextmove.decisions.candidates import catalog_of, sale_values
from nextmove.decisions.context import AccountContext, ContextInputs, build_context
from nextmove.decisions.scoring import Scorer, Scores
from nextmove.foundation.service import record_frames
from nextmove.governance.model import ApprovalStatus
from nextmove.sim import SimConfig, SyntheticCompany, World, generate, write_company
from nextmove.sim.bandit import BanditScorer
from nextmove.sim.contact_log import ContactLog
from nextmove.sim.policies import (
    FeatureCeilingScorer,
    OracleScorer,
    PropensityScorer,
    RandomScorer,
    RulesScorer,
)

PLAYBOOK = Path(__file__).resolve().parents[1] / "examples" / "playbooks" / "b2b_saas.yaml"
POLICIES = (
    "engine", "random", "rules", "propensity", "vowpal_wabbit", "feature_ceiling", "oracle"
)  # fmt: skip
CARRIED_OUT = ("auto", "approve", "recommend")
PURCHASE_WINDOW = timedelta(days=30)


@dataclass
class Result:
    policy: str
    daily: list[float] = field(default_factory=list)
    moves: dict[str, int] = field(default_factory=dict)
    by_motion: dict[str, list[float]] = field(default_factory=dict)
    """Value per motion and half of the run."""
    breaches: int = 0
    """Breaches the engine's own guardrail check found in its decisions."""
    contact_breaches: int = 0
    """Moves carried out against a contact cap or quiet period, counted from the moves
    themselves (:class:`~nextmove.sim.contact_log.ContactLog`), not from what the engine
    knew of them."""
    seconds: float = 0.0
    models: dict[str, int] = field(default_factory=dict)
    """The engine's registry at the end: models per status (champion, challenger, …)."""

    def half(self, which: int) -> float:
        middle = len(self.daily) // 2
        part = self.daily[:middle] if which == 0 else self.daily[middle:]
        return float(sum(part))


class Recording:
    """Wraps a scorer and keeps the contexts it was shown (for refitting baselines)."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.contexts: list[AccountContext] = []

    def score(self, context: AccountContext, *args: Any) -> Scores:
        self.contexts.append(context)
        return self.scorer.score(context, *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=3_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seeds", type=int, nargs="+", default=[11])
    parser.add_argument("--policies", nargs="+", choices=POLICIES, default=list(POLICIES))
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--playbook-thresholds",
        action="store_true",
        help="let the engine keep the playbook's value and confidence thresholds",
    )
    parser.add_argument(
        "--without-online-updates",
        action="store_true",
        help="the engine only refits weekly (by default its champion is also updated online "
        "every day between refits, as the example playbook asks)",
    )
    args = parser.parse_args()
    report = []
    for seed in args.seeds:
        results = run_seed(
            seed, args.accounts, args.days, args.policies, args.playbook_thresholds,
            online=not args.without_online_updates,
        )  # fmt: skip
        print_table(seed, args.accounts, args.days, results)
        report.append({"seed": seed, "results": [vars(r) for r in results]})
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def run_seed(
    seed: int,
    accounts: int,
    days: int,
    policies: list[str],
    thresholds: bool = False,
    *,
    online: bool = True,
) -> list[Result]:
    history = 90
    config = SimConfig(
        seed=seed, accounts=accounts, history_days=history, change_day=history + days // 2
    )
    company = generate(config)
    workdir = Path(tempfile.mkdtemp(prefix="nextmove-quality-"))
    manifest = write_company(company, workdir / "company", fmt="parquet")
    results = []
    for name in policies:
        started = time.perf_counter()
        result = run_policy(
            name, company, manifest.parent, workdir, days, seed, thresholds, online=online
        )
        result.seconds = time.perf_counter() - started
        print(f"  seed {seed} · {name:<14} {sum(result.daily):>14,.0f}  ({result.seconds:.0f} s)")
        results.append(result)
    return results


def run_policy(
    name: str,
    company: SyntheticCompany,
    folder: Path,
    workdir: Path,
    days: int,
    seed: int,
    thresholds: bool = False,
    *,
    online: bool = True,
) -> Result:
    world = World(company)
    playbook = yaml.safe_load(PLAYBOOK.read_text())
    costs = {a: float(s.get("cost", 0.0)) for a, s in playbook["actions"].items()}
    # Thresholds are a company's appetite for risk, not a guardrail: every policy
    # (the engine too) acts on any move it values above zero.
    if not (thresholds and name == "engine"):
        playbook["thresholds"] = {"min_expected_value": 0, "min_confidence": 0}
    if name != "engine":
        playbook["measurement"]["exploration_budget"] = 0.0
    playbook["measurement"]["online_updates"] = online and name == "engine"
    playbook_file = workdir / f"{name}.yaml"
    playbook_file.write_text(yaml.safe_dump(playbook, sort_keys=False))
    url = f"sqlite:///{workdir / f'{name}-{seed}.db'}"
    result = Result(name)
    with Engine.open(url) as engine:
        engine.import_folder(folder)
        engine.apply_playbook(playbook_file, message=f"quality benchmark: {name}")
        active = engine.active_playbook()
        assert active is not None
        scorer, after_day = make_policy(name, world, company, active, seed)
        purchases = _purchases(company.outcomes)
        contacts = ContactLog(active)
        contacts.bought(purchases.select("account_id", "occurred_at").iter_rows())
        for day in range(days):
            today = world.day
            signals = world.signal_frame_for_day()
            if signals.height:
                signal_file = workdir / "signals.parquet"
                signals.write_parquet(signal_file)
                engine.ingest(signals=signal_file)
            run = engine.decide(as_of=_at(today, 12), scorer=scorer)
            result.breaches += run.batch.breaches
            made = run.decisions.filter(
                (pl.col("action") != "no_action") & pl.col("autonomy").is_in(CARRIED_OUT)
            )
            ids, motions = made["account_id"].to_list(), made["action"].to_list()
            products = made["product_id"].to_list()
            result.contact_breaches += contacts.carry_out(
                _at(today, 12), zip(ids, motions, strict=True)
            )
            _follow_approvals(engine)
            worth = world.expected_value(ids, motions, products) if ids else np.zeros(0)
            net = worth - np.array([costs[m] for m in motions])
            result.daily.append(float(net.sum()))
            half = 0 if day < days // 2 else 1
            for motion, value in zip(motions, net, strict=True):
                result.moves[motion] = result.moves.get(motion, 0) + 1
                result.by_motion.setdefault(motion, [0.0, 0.0])[half] += float(value)
            moves = pl.DataFrame(
                {"account_id": ids, "motion": motions, "product_id": products},
                schema={"account_id": pl.String, "motion": pl.String, "product_id": pl.String},
            )
            outcomes = world.step_frame(moves)
            if outcomes.height:
                outcome_file = workdir / "outcomes.parquet"
                outcomes.write_parquet(outcome_file)
                engine.ingest(outcomes=outcome_file)
            bought = _purchases(outcomes)
            purchases = pl.concat([purchases, bought])
            contacts.bought(bought.select("account_id", "occurred_at").iter_rows())
            after_day(day, engine, made, outcomes, purchases, world.day)
        for record in engine.models():
            result.models[record.status.value] = result.models.get(record.status.value, 0) + 1
    return result


def _follow_approvals(engine: Engine) -> None:
    """People approve every move the engine asked approval for (the world carries it out)."""
    while pending := engine.approvals(status=ApprovalStatus.PENDING, limit=1000):
        for approval in pending:
            engine.approve(approval.approval_id)


AfterDay = Callable[[int, Engine, pl.DataFrame, pl.DataFrame, pl.DataFrame, date], None]


def make_policy(
    name: str, world: World, company: SyntheticCompany, playbook: Any, seed: int
) -> tuple[Scorer | None, AfterDay]:
    def nothing(*_: Any) -> None:
        return None

    if name == "engine":

        def learn_weekly(day: int, engine: Engine, *_: Any) -> None:
            if day % 7 == 6:
                engine.learn(as_of=_at(world.day, 0))
            elif playbook.measurement.online_updates:
                engine.update_model(as_of=_at(world.day, 0))

        return None, learn_weekly
    if name == "random":
        return RandomScorer(seed), nothing
    if name == "rules":
        return RulesScorer(), nothing
    if name == "oracle":
        return OracleScorer(world), nothing
    if name == "feature_ceiling":
        return FeatureCeilingScorer(world, seed=seed), nothing
    if name == "propensity":
        return _propensity(company, playbook, seed)
    return _bandit(playbook, seed)


def _propensity(company: SyntheticCompany, playbook: Any, seed: int) -> tuple[Scorer, AfterDay]:
    catalog = catalog_of(company.products)
    scorer = PropensityScorer(seed=seed)
    frames = company.frames()
    inputs = ContextInputs(
        **{kind: frames[kind] for kind in ("accounts", "contacts", "products", "holdings",
                                            "opportunities", "signals", "outcomes")}
    )  # fmt: skip
    start = _at(company.as_of, 23)
    history = [(build_context(inputs, playbook, start - PURCHASE_WINDOW), start)]
    purchases0 = _purchases(company.outcomes)
    scorer.fit(_labelled(history, purchases0), playbook, catalog)
    recording = Recording(scorer)

    def refit_weekly(
        day: int, _e: Engine, _m: pl.DataFrame, _o: pl.DataFrame, purchases: pl.DataFrame,
        today: date,
    ) -> None:  # fmt: skip
        if day % 7 != 6:
            return
        now = _at(today, 0)
        ripe = [
            (c, c.as_of + PURCHASE_WINDOW)
            for c in recording.contexts[::7]
            if c.as_of + PURCHASE_WINDOW <= now
        ]
        scorer.fit(_labelled(history + ripe, purchases), playbook, catalog)

    return recording, refit_weekly


def _bandit(playbook: Any, seed: int) -> tuple[Scorer, AfterDay]:
    bandit = BanditScorer(seed=seed)
    state: dict[str, Any] = {}

    def learn_daily(
        _day: int, engine: Engine, made: pl.DataFrame, outcomes: pl.DataFrame,
        _p: pl.DataFrame, _t: date,
    ) -> None:  # fmt: skip
        if "catalog" not in state:
            stored = record_frames(engine=engine.database, kinds=("products", "accounts"))
            state["catalog"] = catalog_of(stored["products"])
            state["segments"] = stored["accounts"].select("account_id", "segment")
        catalog, segments = state["catalog"], state["segments"]
        costs = {name: action.cost for name, action in playbook.actions.items()}
        bought = _purchases(outcomes).filter(pl.col("product_id").is_in(catalog.product_ids))
        rewards: dict[str, float] = {}
        if bought.height:
            priced = bought.join(segments, on="account_id", how="left")
            values = sale_values(playbook, catalog, priced["segment"])
            columns = [catalog.position(p) for p in priced["product_id"].to_list()]
            for i, account_id in enumerate(priced["account_id"].to_list()):
                rewards[account_id] = rewards.get(account_id, 0.0) + values[i, columns[i]]
        carried = {}
        for account_id, action, product_id in made.select(
            "account_id", "action", "product_id"
        ).iter_rows():
            carried[account_id] = (action, product_id)
            rewards[account_id] = rewards.get(account_id, 0.0) - costs[action]
        bandit.learn(carried, rewards)

    return bandit, learn_daily


def _labelled(
    windows: list[tuple[AccountContext, datetime]], purchases: pl.DataFrame
) -> list[tuple[AccountContext, pl.DataFrame]]:
    return [
        (
            context,
            purchases.filter(
                (pl.col("occurred_at") > context.as_of) & (pl.col("occurred_at") <= until)
            ),
        )
        for context, until in windows
    ]


def _purchases(outcomes: pl.DataFrame) -> pl.DataFrame:
    return outcomes.filter(
        (pl.col("outcome_type") == "purchase") & pl.col("product_id").is_not_null()
    ).select(
        "account_id",
        "product_id",
        pl.col("occurred_at").dt.replace_time_zone(None).dt.replace_time_zone("UTC"),
    )


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, clock_time(hour, 0), tzinfo=UTC)


def print_table(seed: int, accounts: int, days: int, results: list[Result]) -> None:
    oracle = next((r for r in results if r.policy == "oracle"), None)
    print(f"\nseed {seed} · {accounts:,} accounts · {days} days (change on day {days // 2})")
    print(f"{'policy':<14} {'1st half':>12} {'2nd half':>12} {'share 1st':>10} "
          f"{'share 2nd':>10} {'breaches':>9}  moves (value 1st / 2nd half)")  # fmt: skip
    print(f"{'':<14} {'':>12} {'':>12} {'':>10} {'':>10} {'(checked':>9}  "
          "/ carried out: moves that broke a contact cap or quiet period)")  # fmt: skip
    for r in results:
        shares = [
            f"{r.half(h) / oracle.half(h):>10.1%}" if oracle and oracle.half(h) else f"{'':>10}"
            for h in (0, 1)
        ]
        moves = ", ".join(
            f"{k} {v:,} ({r.by_motion[k][0]:,.0f} / {r.by_motion[k][1]:,.0f})"
            for k, v in sorted(r.moves.items())
        )
        print(
            f"{r.policy:<14} {r.half(0):>12,.0f} {r.half(1):>12,.0f} {shares[0]} {shares[1]} "
            f"{f'{r.breaches} / {r.contact_breaches}':>9}  {moves}"
        )
    print(f"{'no_action':<14} {0:>12,} {0:>12,} (by definition: value is over doing nothing)")
    for r in results:
        if r.models:
            registry = ", ".join(f"{status} {n}" for status, n in sorted(r.models.items()))
            print(f"{r.policy}: models registered by the end: {registry}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
