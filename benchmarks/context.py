"""Context assembly benchmark: 1M accounts, 10 products, 10M signals through build_context.

    python benchmarks/context.py                                  # 1M accounts, 10M signals
    python benchmarks/context.py --accounts 100000 --signals 1000000 --repeat 5

Generates seeded random frames shaped like the store's tables with numpy and polars: the
accounts, about 2.5 contacts per account, holdings (10 products), opportunities, a year
of signals of the example playbook's types (plus one it does not declare, and 1% of events
for accounts that are not in the book), with support tickets opened and closed by ref,
outcomes, and 2 touches per account. Then ``build_context`` runs under
``examples/playbooks/b2b_saas.yaml`` ``--repeat`` times; the figure is the median wall
time and accounts per second (with the CPU time of all threads, and the load average:
on a shared machine, other processes' load inflates the wall time). Last, one account's
rows are built alone and checked to give that account's row of the full build.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from nextmove.decisions.context import AccountContext, ContextInputs, build_context
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import Playbook
from nextmove.sim.catalog import CATALOG

PLAYBOOK = Path(__file__).resolve().parents[1] / "examples" / "playbooks" / "b2b_saas.yaml"
AS_OF = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
HISTORY_DAYS = 365
SIGNAL_TYPES = {  # share of events
    "web_visit": 0.34,
    "email_open": 0.16,
    "usage_score": 0.18,
    "pricing_page_visit": 0.08,
    "email_click": 0.08,
    "intent_surge": 0.07,
    "webinar_attended": 0.05,
    "support_ticket": 0.04,  # half opened, half closed
}
DAY_US = 86_400_000_000


def ids(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    """``prefix`` + zero-padded numbers, built in polars (fast for tens of millions)."""
    text = pl.Series(numbers.astype(np.int64)).cast(pl.String).str.zfill(width)
    return (prefix + text).rename(prefix.rstrip("-"))


def times(rng: np.random.Generator, count: int, days: int) -> pl.Series:
    """Instants spread over the ``days`` days up to as_of (a few slightly after it)."""
    end = int(AS_OF.timestamp() * 1_000_000)
    offsets = rng.integers(-DAY_US // 10, days * DAY_US, count)
    return pl.Series(end - offsets).cast(pl.Datetime("us", "UTC"))


def generate(accounts: int, signals: int, seed: int) -> ContextInputs:
    """Random inputs shaped like the store's tables."""
    rng = np.random.default_rng(seed)
    products = [entry.product_id for entry in CATALOG][:10]
    account_ids = ids("acct-", np.arange(accounts), 8)
    account_frame = pl.DataFrame(
        {
            "account_id": account_ids,
            "segment": rng.choice(["smb", "mid", "ent"], accounts, p=[0.6, 0.3, 0.1]),
            "industry": rng.choice(["retail", "software", "finance", "health"], accounts),
            "country": rng.choice(["US", "DE", "FR", "GB", "CA", "JP"], accounts),
            "region": rng.choice(["NA", "EMEA", "APAC"], accounts),
            "employees": rng.integers(5, 20_000, accounts),
            "annual_revenue": rng.lognormal(16, 1.5, accounts),
            "owner_id": pl.Series(rng.choice([f"own-{i:03d}" for i in range(200)], accounts))
            .to_frame()
            .select(pl.when(pl.lit(rng.random(accounts) > 0.02)).then(pl.all()))
            .to_series(),
            "created_on": pl.Series(
                np.datetime64(date(2026, 11, 1)) - rng.integers(1, 4000, accounts)
            ),
        }
    )

    n_contacts = int(accounts * 2.5)
    contacts = pl.DataFrame(
        {
            "contact_id": ids("cont-", np.arange(n_contacts), 9),
            "account_id": account_ids.gather(rng.integers(0, accounts, n_contacts)),
            "email_consent": rng.choice(["opted_in", "unknown", "opted_out"], n_contacts),
            "phone_consent": rng.choice(["opted_in", "unknown", "opted_out"], n_contacts),
            "do_not_contact": rng.random(n_contacts) < 0.03,
        }
    )
    product_frame = pl.DataFrame(
        {
            "product_id": products,
            "list_price": rng.uniform(5_000, 40_000, len(products)),
            "active": [True] * len(products),
            "prerequisites": [[] for _ in products],
            "related": [[] for _ in products],
        },
        schema_overrides={"prerequisites": pl.List(pl.String), "related": pl.List(pl.String)},
    )
    pairs = np.unique(rng.integers(0, accounts * len(products), int(accounts * 1.5)))
    holdings = pl.DataFrame(
        {
            "account_id": account_ids.gather(pairs // len(products)),
            "product_id": pl.Series(products).gather(pairs % len(products)),
            "since": pl.Series(
                np.datetime64(date(2026, 11, 1)) - rng.integers(-5, 3000, len(pairs))
            ),
            "quantity": np.ones(len(pairs), dtype=np.int64),
        }
    )
    n_opps = accounts // 5
    opportunities = pl.DataFrame(
        {
            "opportunity_id": ids("opp-", np.arange(n_opps), 8),
            "account_id": account_ids.gather(rng.integers(0, accounts, n_opps)),
            "product_id": rng.choice(products, n_opps),
            "stage": rng.choice(["prospecting", "proposal", "won", "lost"], n_opps),
            "created_on": pl.Series(
                np.datetime64(date(2026, 11, 1)) - rng.integers(0, 700, n_opps)
            ),
            "close_date": pl.Series(
                np.datetime64(date(2026, 11, 1)) - rng.integers(-60, 600, n_opps)
            ),
        }
    )
    return ContextInputs(
        accounts=account_frame,
        contacts=contacts,
        products=product_frame,
        holdings=holdings,
        opportunities=opportunities,
        signals=signal_frame(rng, account_ids, products, signals),
        outcomes=outcome_frame(rng, account_ids, products),
        touches=touch_frame(rng, account_ids, contacts),
    )


def signal_frame(
    rng: np.random.Generator, account_ids: pl.Series, products: list[str], count: int
) -> pl.DataFrame:
    """A year of events; 1% name accounts outside the book."""
    kinds = list(SIGNAL_TYPES)
    kind = rng.choice(len(kinds), count, p=list(SIGNAL_TYPES.values()))
    types = pl.Series(np.array(kinds)[kind])
    ticket = types == "support_ticket"
    closing = pl.Series(rng.random(count) < 0.5)
    types = (
        pl.DataFrame({"t": types, "ticket": ticket, "closing": closing})
        .select(
            pl.when(pl.col("ticket") & pl.col("closing"))
            .then(pl.lit("support_ticket_closed"))
            .when(pl.col("ticket"))
            .then(pl.lit("support_ticket_opened"))
            .otherwise(pl.col("t"))
        )
        .to_series()
    )
    accounts = len(account_ids)
    owner = rng.integers(0, accounts, count)
    stranger = rng.random(count) < 0.01
    account = (
        account_ids.gather(owner)
        .to_frame("a")
        .with_columns(s=ids("zz-", owner, 8), x=pl.Series(stranger))
    )
    value = np.where(kind == kinds.index("usage_score"), rng.uniform(0, 100, count), 1.0)
    value = np.where(ticket.to_numpy(), rng.integers(1, 5, count), value)
    with_product = rng.random(count) < 0.4
    return pl.DataFrame(
        {
            "event_id": ids("evt-", np.arange(count), 10),
            "account_id": account.select(pl.when("x").then("s").otherwise("a")).to_series(),
            "signal_type": types,
            "product_id": pl.Series(rng.choice(products, count))
            .to_frame("p")
            .select(pl.when(pl.lit(with_product)).then("p"))
            .to_series(),
            "contact_id": pl.Series([None] * count, dtype=pl.String),
            "value": value.astype(np.float64),
            "occurred_at": times(rng, count, HISTORY_DAYS),
            "source": pl.Series(["bench"] * count),
            # Tickets of one account pair by ref: tkt-<account>-<0..3>.
            "ref": pl.DataFrame({"o": owner % 10_000_000, "k": rng.integers(0, 4, count)})
            .select(pl.when(pl.lit(ticket)).then(pl.format("tkt-{}-{}", pl.col("o"), pl.col("k"))))
            .to_series(),
        }
    )


def outcome_frame(
    rng: np.random.Generator, account_ids: pl.Series, products: list[str]
) -> pl.DataFrame:
    count = len(account_ids) // 3
    return pl.DataFrame(
        {
            "outcome_id": ids("out-", np.arange(count), 8),
            "account_id": account_ids.gather(rng.integers(0, len(account_ids), count)),
            "outcome_type": rng.choice(
                ["purchase", "opportunity_created", "unsubscribe", "complaint"],
                count,
                p=[0.4, 0.4, 0.15, 0.05],
            ),
            "product_id": rng.choice(products, count),
            "value": rng.uniform(0, 30_000, count),
            "occurred_at": times(rng, count, HISTORY_DAYS),
        }
    )


def touch_frame(
    rng: np.random.Generator, account_ids: pl.Series, contacts: pl.DataFrame
) -> pl.DataFrame:
    """Two touches per account; a third of them without a contact."""
    count = 2 * len(account_ids)
    pick = rng.integers(0, contacts.height, count)
    without = pl.lit(rng.random(count) < 0.33)
    return pl.DataFrame(
        {
            "account_id": contacts["account_id"].gather(pick),
            "contact_id": contacts["contact_id"]
            .gather(pick)
            .to_frame()
            .select(pl.when(~without).then(pl.all()))
            .to_series(),
            "channel": rng.choice(["email", "phone", "meeting"], count, p=[0.7, 0.2, 0.1]),
            "occurred_at": times(rng, count, 60),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--signals", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    playbook = load_playbook(PLAYBOOK.read_text(encoding="utf-8")).playbook
    started = time.perf_counter()
    inputs = generate(args.accounts, args.signals, args.seed)
    print(
        f"generated in {time.perf_counter() - started:.1f}s: "
        + ", ".join(f"{kind} {getattr(inputs, kind).height:,}" for kind in _KINDS)
    )
    walls, cpus = [], []
    for run in range(args.repeat):
        started, cpu = time.perf_counter(), time.process_time()
        context = build_context(inputs, playbook, AS_OF)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        print(f"run {run + 1}: {walls[-1]:.2f}s wall, {cpus[-1]:.2f}s CPU (all threads)")
    wall = statistics.median(walls)
    print(
        f"build_context: {context.frame.height:,} accounts × {context.frame.width} columns, "
        f"{context.product_interest.height:,} product-interest rows, "
        f"{pl.thread_pool_size()} polars threads on {os.cpu_count()} CPUs"
    )
    print(
        f"median of {args.repeat}: {wall:.2f}s wall ({statistics.median(cpus):.2f}s CPU), "
        f"{args.accounts / wall:,.0f} accounts/s, {args.signals / wall:,.0f} signals/s; "
        f"load average {os.getloadavg()[0]:.1f} (other processes share the CPUs)"
    )
    _check_one_account(inputs, playbook, context)


_KINDS = (
    "accounts",
    "contacts",
    "products",
    "holdings",
    "opportunities",
    "signals",
    "outcomes",
    "touches",
)


def _check_one_account(inputs: ContextInputs, playbook: Playbook, context: AccountContext) -> None:
    """The real-time path: one account's rows give that account's row of the full build."""
    account = context.frame["account_id"][len(context.frame) // 2]
    subset = inputs.for_accounts([account])
    started = time.perf_counter()
    single = build_context(subset, playbook, AS_OF)
    wall = time.perf_counter() - started
    full_row = context.frame.filter(pl.col("account_id") == account)
    same = single.frame.equals(full_row)
    print(f"one account ({account}): {wall * 1000:.0f} ms, same row as the full build: {same}")


if __name__ == "__main__":
    main()
