"""Training rows: logged decisions replayed as of their time and labelled with what followed.

Each decision's account is rebuilt as of the decision (the context then, so nothing later
leaks in). A move becomes one row for the product it carried; doing nothing becomes one
row per product the account could buy. A row is labelled bought when the account bought
that product (or won an opportunity for it) within the attribution window, cut at the
labelling time; ``exposure`` is the share of the window seen by then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.decisions.candidates import Catalog, buyable
from nextmove.decisions.context import AccountContext, build_context
from nextmove.decisions.service import context_inputs
from nextmove.domain import SALE_OUTCOMES, OutcomeType
from nextmove.learning.features import account_features, feature_names, product_interest
from nextmove.learning.response import TrainingRows
from nextmove.playbook.model import Playbook

__all__ = ["RECORD_KINDS", "samples", "stacked", "training_rows", "training_sample"]

RECORD_KINDS = (
    "accounts", "contacts", "products", "holdings", "opportunities", "signals", "outcomes"
)  # fmt: skip
"""The records a context is built from."""
_MAX_CONTROL_ROWS = 40_000


def training_sample(logged: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Every acting decision and a random sample of the others (they are many and alike)."""
    if logged.height == 0:
        return pl.DataFrame(
            schema={
                "account_id": pl.String,
                "action": pl.String,
                "product_id": pl.String,
                "as_of": pl.Datetime("us", "UTC"),
            }
        )
    acting = logged.filter(pl.col("action") != "no_action")
    idle = logged.filter(pl.col("action") == "no_action")
    if idle.height > _MAX_CONTROL_ROWS:
        idle = idle.sample(_MAX_CONTROL_ROWS, seed=seed)
    return pl.concat([acting, idle]).sort("as_of", "account_id")


def samples(
    logged: pl.DataFrame, seed: int, held_out_from: datetime | None
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The training sample before ``held_out_from`` and the held-out one after it, each
    sampled on its own (so the newest days keep their rows however long the history)."""
    if held_out_from is None or logged.height == 0:
        return training_sample(logged, seed), None
    newest = pl.col("as_of") >= held_out_from
    return (
        training_sample(logged.filter(~newest), seed),
        training_sample(logged.filter(newest), seed),
    )


def training_rows(
    sample: pl.DataFrame,
    frames: Mapping[str, pl.DataFrame],
    touches: pl.DataFrame,
    playbook: Playbook,
    catalog: Catalog,
    actions: tuple[str, ...],
    as_of: datetime,
    groups: dict[str, int] | None = None,
) -> TrainingRows:
    """Stacked rows of the sample's decisions, labelled with what followed up to ``as_of``.

    ``groups`` numbers the accounts (shared by calls whose rows are stacked together).
    """
    window = timedelta(days=playbook.measurement.attribution_days)
    bought = frames["outcomes"].filter(
        pl.col("outcome_type").is_in(SALE_OUTCOMES) & pl.col("product_id").is_not_null()
    )
    unsubscribes = frames["outcomes"].filter(
        pl.col("outcome_type") == OutcomeType.UNSUBSCRIBE.value
    )
    groups = {} if groups is None else groups
    parts: list[TrainingRows] = []
    for (decided_at,), day in sample.group_by("as_of", maintain_order=True):
        assert isinstance(decided_at, datetime)
        ids = day["account_id"].unique()
        scoped = {
            kind: frame.filter(pl.col("account_id").is_in(ids))
            if "account_id" in frame.columns
            else frame
            for kind, frame in frames.items()
        }
        touched = touches.filter(pl.col("account_id").is_in(ids))
        context = build_context(context_inputs(scoped, touched, playbook), playbook, decided_at)
        until = min(decided_at + window, as_of)
        purchases = (
            bought.filter((pl.col("occurred_at") > decided_at) & (pl.col("occurred_at") <= until))
            .select("account_id", "product_id")
            .unique()
        )
        left = unsubscribes.filter(
            (pl.col("occurred_at") > decided_at) & (pl.col("occurred_at") <= until)
        )
        rows = _rows_of_day(
            day,
            context,
            _Labels(purchases, frozenset(left["account_id"].to_list()), groups),
            playbook,
            catalog,
            actions,
        )
        seen = min((until - decided_at) / window, 1.0)
        parts.append(replace(rows, exposure=np.full(len(rows.bought), seen)))
    return stacked(parts, len(feature_names(playbook)))


def stacked(parts: Sequence[TrainingRows], features: int) -> TrainingRows:
    """One set of rows from several (none: an empty set)."""
    if not parts:
        empty = np.zeros(0)
        return TrainingRows(
            np.zeros((0, features)),
            empty,
            empty.astype(np.int64),
            empty.astype(np.int64),
            empty,
            group=empty.astype(np.int64),
            unsubscribed=empty,
            decision_row=empty.astype(bool),
            exposure=empty,
        )
    return TrainingRows(
        features=np.vstack([p.features for p in parts]),
        interest=np.concatenate([p.interest for p in parts]),
        product=np.concatenate([p.product for p in parts]),
        motion=np.concatenate([p.motion for p in parts]),
        bought=np.concatenate([p.bought for p in parts]),
        group=np.concatenate([_given(p.group) for p in parts]),
        unsubscribed=np.concatenate([_given(p.unsubscribed) for p in parts]),
        decision_row=np.concatenate([_given(p.decision_row) for p in parts]),
        exposure=np.concatenate([_given(p.exposure) for p in parts]),
    )


_T = TypeVar("_T", bound=np.generic)


def _given(values: npt.NDArray[_T] | None) -> npt.NDArray[_T]:
    assert values is not None  # _rows_of_day and _training_rows always fill them
    return values


@dataclass(frozen=True)
class _Labels:
    """What followed one day's decisions, and the account numbering shared across days."""

    purchases: pl.DataFrame
    """(account_id, product_id) bought within the window."""
    unsubscribed: frozenset[str]
    """Accounts with an unsubscribe within the window."""
    groups: dict[str, int]


def _rows_of_day(
    day: pl.DataFrame,
    context: AccountContext,
    labels: _Labels,
    playbook: Playbook,
    catalog: Catalog,
    actions: tuple[str, ...],
) -> TrainingRows:
    """Treated rows for the product each action carried; control rows for every buyable one."""
    frame = context.frame
    features = account_features(frame, playbook).matrix
    interest = product_interest(context.product_interest, frame["account_id"], catalog.product_ids)
    can_buy = buyable(frame, catalog)
    position = {account: i for i, account in enumerate(frame["account_id"].to_list())}
    product_position = {p: j for j, p in enumerate(catalog.product_ids)}
    bought = {(a, p) for a, p in labels.purchases.iter_rows()}
    motion_of = {name: k for k, name in enumerate(actions)}
    accounts, products, motions, first = [], [], [], []
    for account, action, product in day.select("account_id", "action", "product_id").iter_rows():
        i = position.get(account)
        if i is None:
            continue
        if action == "no_action":
            for n, j in enumerate(np.flatnonzero(can_buy[i])):
                accounts.append(i)
                products.append(int(j))
                motions.append(-1)
                first.append(n == 0)
        elif action in motion_of and product in product_position:
            accounts.append(i)
            products.append(product_position[product])
            motions.append(motion_of[action])
            first.append(True)
    a = np.asarray(accounts, dtype=np.int64)
    p = np.asarray(products, dtype=np.int64)
    ids = frame["account_id"].to_list()
    outcome = np.array(
        [(ids[i], catalog.product_ids[j]) in bought for i, j in zip(a, p, strict=True)],
        dtype=np.float64,
    )
    return TrainingRows(
        features=features[a] if len(a) else np.zeros((0, features.shape[1])),
        interest=interest[a, p] if len(a) else np.zeros(0),
        product=p,
        motion=np.asarray(motions, dtype=np.int64),
        bought=outcome,
        group=np.array([labels.groups.setdefault(ids[i], len(labels.groups)) for i in a], np.int64),
        unsubscribed=np.array([ids[i] in labels.unsubscribed for i in a], dtype=np.float64),
        decision_row=np.asarray(first, dtype=bool),
    )
