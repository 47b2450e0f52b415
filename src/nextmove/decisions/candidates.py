"""Candidates: what each account could be offered, by which motion, and what a sale is worth.

An account can buy a product of the catalog that is active, that it does not hold, and whose
prerequisites it holds. Each playbook action carries the products it names (``all``: every
catalog product); ``no_action`` is always a candidate and needs no product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.decisions.columns import nulls_filled
from nextmove.playbook.model import ALL, Channel, Playbook

__all__ = ["ActionSpec", "Catalog", "action_specs", "buyable", "catalog_of", "sale_values"]

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Catalog:
    """The products an account can be offered, in a fixed order."""

    product_ids: tuple[str, ...]
    prerequisites: tuple[tuple[int, ...], ...]
    list_price: Floats
    active: Bools

    def position(self, product_id: str) -> int:
        """Return the column of ``product_id``."""
        return self.product_ids.index(product_id)


@dataclass(frozen=True)
class ActionSpec:
    """One playbook action as the decision engine uses it."""

    name: str
    channel: Channel
    team: str | None
    cost: float
    lever: float
    products: tuple[int, ...]
    """Catalog columns the action can carry."""


def catalog_of(products: pl.DataFrame) -> Catalog:
    """Return the catalog of a ``products`` frame (id, list_price, active, prerequisites)."""
    ordered = products if products["product_id"].is_sorted() else products.sort("product_id")
    ids = tuple(ordered["product_id"].to_list())
    position = {product_id: i for i, product_id in enumerate(ids)}
    prerequisites = tuple(
        tuple(position[p] for p in (needed or []) if p in position)
        for needed in ordered["prerequisites"].to_list()
    )
    price, on = ordered["list_price"], ordered["active"]
    if len(ids) <= _FEW and price.dtype == pl.Float64 and on.dtype == pl.Boolean:
        # A catalog is a few products, read on every decision: no query.
        prices = np.array([0.0 if p is None else p for p in price.to_list()], dtype=np.float64)
        active = np.array([a is not False for a in on.to_list()], dtype=np.bool_)
    else:
        prices = nulls_filled(price.cast(pl.Float64), 0.0).to_numpy()
        active = nulls_filled(on, True).to_numpy().astype(bool)
    return Catalog(ids, prerequisites, prices, active)


def action_specs(playbook: Playbook, catalog: Catalog) -> tuple[ActionSpec, ...]:
    """Return every action but ``no_action``, with the catalog products it can carry."""
    levers = playbook.value.levers.actions
    specs = []
    for name, action in playbook.actions.items():
        if name == "no_action":
            continue
        named = catalog.product_ids if action.products == ALL else action.products
        products = tuple(
            catalog.position(p)
            for p in named
            if p in catalog.product_ids and catalog.active[catalog.position(p)]
        )
        specs.append(
            ActionSpec(
                name=name,
                channel=action.channel,
                team=action.team,
                cost=action.cost,
                lever=levers.get(name, 1.0),
                products=products,
            )
        )
    return tuple(specs)


def buyable(context: pl.DataFrame, catalog: Catalog) -> Bools:
    """Return accounts × products: true where the account could buy the product."""
    known = set(context.columns)
    held = np.zeros((context.height, len(catalog.product_ids)), dtype=bool)
    for column, product_id in enumerate(catalog.product_ids):
        name = f"holds__{product_id}"
        if name in known:  # null: not held
            held[:, column] = _flags(context[name])
    can = ~held & catalog.active[None, :]
    for column, needed in enumerate(catalog.prerequisites):
        for prerequisite in needed:
            can[:, column] &= held[:, prerequisite]
    return can


def _flags(column: pl.Series) -> Bools:
    """True where ``column`` is true; null reads false."""
    if len(column) <= _FEW and column.dtype == pl.Boolean:  # no query for a few
        return np.array([value is True for value in column.to_list()], dtype=np.bool_)
    return np.asarray(nulls_filled(column, False).cast(pl.Boolean).to_numpy(), dtype=np.bool_)


def sale_values(playbook: Playbook, catalog: Catalog, segments: pl.Series) -> Floats:
    """Return accounts × products: what a sale is worth over the playbook's horizon.

    Price (by segment, else the catalog's list price) × margin (by segment, else the
    playbook's default) × horizon in years × the product's lever.
    """
    years = playbook.value.horizon_months / 12.0
    distinct, codes = _distinct(nulls_filled(segments.cast(pl.String), ""))
    table = np.zeros((len(distinct), len(catalog.product_ids)))
    for column, product_id in enumerate(catalog.product_ids):
        declared = playbook.value.products.get(product_id)
        lever = playbook.value.levers.products.get(product_id, 1.0)
        for row, segment in enumerate(distinct):
            price = declared.price.for_segment(segment) if declared and declared.price else None
            margin = declared.margin.for_segment(segment) if declared and declared.margin else None
            price = float(catalog.list_price[column]) if price is None else price
            margin = playbook.value.default_margin if margin is None else margin
            table[row, column] = price * margin * years * lever
    return table[codes] if len(codes) else np.zeros((0, len(catalog.product_ids)))


_FEW = 1_000
"""Up to this many values are numbered in Python rather than by a polars query."""


def _distinct(values: pl.Series) -> tuple[list[str], npt.NDArray[np.int64]]:
    """The distinct values, sorted, and each value's position among them."""
    if len(values) <= _FEW:  # deciding one account: no query
        listed = values.to_list()
        distinct = sorted(set(listed))
        index = {value: i for i, value in enumerate(distinct)}
        return distinct, np.array([index[value] for value in listed], dtype=np.int64)
    distinct = sorted(values.unique().to_list())
    codes = values.cast(pl.Enum(distinct)).to_physical().cast(pl.Int64).to_numpy()
    return distinct, codes
