"""Holdings, opportunities and outcomes of the history, consistent with the hidden truth.

Purchases during the history are drawn from each account's baseline purchase rate; each
becomes a holding, a won opportunity and purchase/won outcomes. Lost and open deals,
older wins and email unsubscribes fill in the rest of the commercial record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.sim.frames import gather_or_null, record_frame, sequential_ids
from nextmove.sim.sampling import pick_column
from nextmove.sim.timeline import day_dates, timestamps
from nextmove.sim.truth import ProductIndex

__all__ = ["Ledger", "Purchases", "draw_ledger", "draw_purchases"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

_STAGES = ("prospecting", "qualification", "proposal", "negotiation", "won", "lost")
_OPEN_STAGE_SHARE = (0.35, 0.30, 0.20, 0.15)
_WON, _LOST = _STAGES.index("won"), _STAGES.index("lost")


@dataclass(frozen=True)
class Purchases:
    """Purchases made during the history: account, product and day index."""

    account: Ints
    product: Ints
    day: Ints


@dataclass(frozen=True)
class Ledger:
    """The commercial frames of the history."""

    holdings: pl.DataFrame
    opportunities: pl.DataFrame
    outcomes: pl.DataFrame


def draw_purchases(
    rng: np.random.Generator,
    products: ProductIndex,
    baseline: Floats,
    held_at_start: Bools,
    days: int,
) -> Purchases:
    """Return the purchases made during ``days`` days at each account's baseline rate.

    Only products eligible at the start can be bought, so prerequisites always precede.
    """
    rate = (baseline * products.eligible(held_at_start)).ravel()
    cells = np.flatnonzero(rate > 0)
    waited = rng.exponential(1.0, len(cells)) / rate[cells]
    bought = waited < days
    account, product = np.divmod(cells[bought], baseline.shape[1])
    return Purchases(
        account.astype(np.int64), product.astype(np.int64), waited[bought].astype(np.int64)
    )


def _since(
    rng: np.random.Generator,
    products: ProductIndex,
    held_at_start: Bools,
    age: Ints,
) -> Ints:
    """Return, per account and product, the day (relative to start, negative) it was bought."""
    n, p = held_at_start.shape
    since = -(rng.random((n, p)) * age[:, None]).astype(np.int64) - 1
    for j, needs in enumerate(products.prerequisites):
        for q in needs:
            since[:, j] = np.maximum(since[:, j], since[:, q])
    return since


def _times(rng: np.random.Generator, start: date, day: Ints) -> pl.Series:
    return timestamps(start, day, rng.integers(8 * 3600, 19 * 3600, len(day)))


def draw_ledger(
    rng: np.random.Generator,
    *,
    start: date,
    days: int,
    account_ids: pl.Series,
    account_age: Ints,
    account_owner: pl.Series,
    fallback_owner: pl.Series,
    products: ProductIndex,
    need: Floats,
    value: Floats,
    quantity: Ints,
    held_at_start: Bools,
    purchases: Purchases,
    contact_ids: pl.Series,
    contact_account: Ints,
    unsubscribed: Bools,
) -> Ledger:
    """Return holdings, opportunities and outcomes for the history.

    ``unsubscribed`` marks contacts whose opt-out happened inside the history.
    """
    n = len(account_ids)
    held = held_at_start.copy()
    held[purchases.account, purchases.product] = True
    since = _since(rng, products, held_at_start, account_age)
    since[purchases.account, purchases.product] = purchases.day
    account, product = np.nonzero(held)
    holdings = record_frame(
        "holdings",
        {
            "account_id": account_ids.gather(account),
            "product_id": products.ids_series.gather(product),
            "since": day_dates(start, since[account, product]),
            "quantity": quantity[account],
            "annual_value": value[account, product],
        },
    )

    owner = account_owner.fill_null(fallback_owner.gather(rng.integers(0, len(fallback_owner), n)))
    deals = _deals(
        rng,
        days=days,
        products=products,
        need=need,
        value=value,
        held_at_start=held_at_start,
        held=held,
        since=since,
        purchases=purchases,
    )
    order = np.argsort(deals.created, kind="stable")
    deals = deals.select(order)
    opp_ids = sequential_ids("opp-", len(deals.account), width=6)
    opportunities = record_frame(
        "opportunities",
        {
            "opportunity_id": opp_ids,
            "account_id": account_ids.gather(deals.account),
            "product_id": gather_or_null(products.ids_series, deals.product),
            "stage": pl.Series(_STAGES).gather(deals.stage),
            "amount": deals.amount,
            "created_on": day_dates(start, deals.created),
            "close_date": day_dates(start, deals.close),
            "owner_id": owner.gather(deals.account),
        },
    )
    outcomes = _outcomes(
        rng, start=start, days=days, account_ids=account_ids, products=products,
        deals=deals, opp_ids=opp_ids, contact_ids=contact_ids,
        contact_account=contact_account, unsubscribed=unsubscribed,
    )  # fmt: skip
    return Ledger(holdings=holdings, opportunities=opportunities, outcomes=outcomes)


@dataclass(frozen=True)
class _Deals:
    account: Ints
    product: Ints
    stage: Ints
    """Index into ``_STAGES``."""
    amount: Floats
    created: Ints
    close: Ints

    def select(self, rows: Ints | Bools) -> _Deals:
        return _Deals(
            self.account[rows],
            self.product[rows],
            self.stage[rows],
            self.amount[rows],
            self.created[rows],
            self.close[rows],
        )

    @staticmethod
    def concat(parts: list[_Deals]) -> _Deals:
        return _Deals(
            np.concatenate([d.account for d in parts]),
            np.concatenate([d.product for d in parts]),
            np.concatenate([d.stage for d in parts]),
            np.concatenate([d.amount for d in parts]),
            np.concatenate([d.created for d in parts]),
            np.concatenate([d.close for d in parts]),
        )


def _closed(
    rng: np.random.Generator, account: Ints, product: Ints, close: Ints, stage: int, amount: Floats
) -> _Deals:
    created = close - rng.integers(7, 90, len(account))
    return _Deals(account, product, np.full(len(account), stage), amount, created, close)


def _deals(
    rng: np.random.Generator,
    *,
    days: int,
    products: ProductIndex,
    need: Floats,
    value: Floats,
    held_at_start: Bools,
    held: Bools,
    since: Ints,
    purchases: Purchases,
) -> _Deals:
    """Return won (recent and older), lost (recent and older) and open deals."""
    n = len(need)
    # Every purchase in the history closed a won deal on the day of purchase, and some
    # older holdings of the last two years came through a recorded deal.
    won_a, won_p = purchases.account, purchases.product
    old_a, old_p = np.nonzero(held_at_start)
    recorded = (since[old_a, old_p] > -730) & (rng.random(len(old_a)) < 0.15)
    old_a, old_p = old_a[recorded], old_p[recorded]
    won = _closed(rng, won_a, won_p, purchases.day, _WON, value[won_a, won_p])
    old = _closed(rng, old_a, old_p, since[old_a, old_p], _WON, value[old_a, old_p])

    # Lost and open deals go to accounts with need, for a product they could buy.
    top_need = need.max(axis=1, initial=0.0) ** 2
    n_recent = round(0.9 * len(won_a) + 0.002 * n)
    n_lost = n_recent + round(0.8 * len(old_a))
    lost_a = rng.choice(n, size=n_lost, p=top_need / top_need.sum())
    lost_p = pick_column(rng, need[lost_a] ** 3 * products.eligible(held_at_start[lost_a]))
    close = np.concatenate(
        [rng.integers(0, days, n_recent), -rng.integers(1, 730, n_lost - n_recent)]
    )
    discount = np.where(rng.random(n_lost) < 0.5, 1.0, rng.uniform(0.7, 1.2, n_lost))
    amount = np.round(value[lost_a, np.maximum(lost_p, 0)] * discount, -1)
    lost = _closed(rng, lost_a, lost_p, close, _LOST, amount).select(lost_p >= 0)

    open_a = rng.choice(n, size=round(0.08 * n), p=top_need / top_need.sum())
    open_p = pick_column(rng, need[open_a] ** 3 * products.eligible(held[open_a]))
    m = len(open_a)
    pending = _Deals(
        account=open_a,
        product=open_p,
        stage=rng.choice(len(_OPEN_STAGE_SHARE), size=m, p=np.array(_OPEN_STAGE_SHARE)),
        amount=value[open_a, np.maximum(open_p, 0)],
        created=days - 1 - rng.integers(0, 120, m),
        close=days - 1 + rng.integers(7, 120, m),
    ).select(open_p >= 0)
    return _Deals.concat([won, old, lost, pending])


def _outcomes(
    rng: np.random.Generator,
    *,
    start: date,
    days: int,
    account_ids: pl.Series,
    products: ProductIndex,
    deals: _Deals,
    opp_ids: pl.Series,
    contact_ids: pl.Series,
    contact_account: Ints,
    unsubscribed: Bools,
) -> pl.DataFrame:
    """Return purchase, opportunity, unsubscribe and complaint outcomes inside the history."""
    in_window = (deals.close >= 0) & (deals.close < days)
    won = np.flatnonzero(in_window & (deals.stage == _WON))
    lost = np.flatnonzero(in_window & (deals.stage == _LOST))
    created = np.flatnonzero((deals.created >= 0) & (deals.created < days))
    unsub = np.flatnonzero(unsubscribed)
    unsub_day = rng.integers(0, days, len(unsub))
    complaint = rng.random(len(unsub)) < 0.15

    parts: list[pl.DataFrame] = []

    def add(kind: str, rows: Ints, day: Ints, value: Floats, source: str, **ids: pl.Series) -> None:
        parts.append(
            pl.DataFrame(
                {
                    "outcome_type": pl.repeat(kind, len(rows), dtype=pl.String, eager=True),
                    "day": day,
                    "value": value,
                    "source": pl.repeat(source, len(rows), dtype=pl.String, eager=True),
                    **ids,
                }
            )
        )

    def deal_ids(rows: Ints) -> dict[str, pl.Series]:
        return {
            "account_id": account_ids.gather(deals.account[rows]),
            "product_id": gather_or_null(products.ids_series, deals.product[rows]),
            "opportunity_id": opp_ids.gather(rows),
        }

    add(
        "opportunity_created",
        created,
        deals.created[created],
        np.zeros(len(created)),
        "crm",
        **deal_ids(created),
    )
    add("opportunity_won", won, deals.close[won], deals.amount[won], "crm", **deal_ids(won))
    add("purchase", won, deals.close[won], deals.amount[won], "billing", **deal_ids(won))
    add("opportunity_lost", lost, deals.close[lost], np.zeros(len(lost)), "crm", **deal_ids(lost))
    for kind, rows, day in (
        ("unsubscribe", unsub, unsub_day),
        ("complaint", unsub[complaint], unsub_day[complaint]),
    ):
        add(kind, rows, day, np.zeros(len(rows)), "marketo",
            account_id=account_ids.gather(contact_account[rows]),
            contact_id=contact_ids.gather(rows))  # fmt: skip

    table = pl.concat(parts, how="diagonal")
    day = table["day"].to_numpy()
    table = table.with_columns(occurred_at=_times(rng, start, day)).sort(
        "occurred_at", maintain_order=True
    )
    return record_frame(
        "outcomes",
        {
            "outcome_id": sequential_ids("out-", table.height, width=7),
            **{c: table[c] for c in table.columns if c != "day"},
        },
    )
