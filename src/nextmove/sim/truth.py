"""The hidden truth: latent need, holdings at the start, and each account's response to motions.

Everything here is a pure function of a random generator and account attributes, so the
company generator and the world share one definition of who buys and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from nextmove.sim.catalog import CatalogEntry
from nextmove.sim.model import AccountClass, ResponseType

__all__ = [
    "ProductIndex",
    "Responses",
    "draw_need",
    "draw_responses",
    "hold_at_start",
    "product_index",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

_BASE_HAZARD = 1.0e-4
"""Daily purchase probability of an eligible product at need 1 for an ordinary account."""
_CLASS_SHARE = (0.60, 0.10, 0.30)  # movable, sure thing, lost cause
_CLASS_HAZARD = np.array([1.0, 20.0, 0.05])
_SLEEPING_DOG_HAZARD = 4.0
"""Sleeping dogs buy on their own more often: that is what pressure puts at risk."""

# (persuadable, sleeping dog) shares among movable accounts, per segment (smb, mid, ent).
_SALES_TYPES = ((0.35, 0.30), (0.55, 0.08), (0.65, 0.03))
_DIGITAL_TYPES = ((0.55, 0.06), (0.45, 0.05), (0.30, 0.04))
_SERVICE_TYPES = ((0.15, 0.03), (0.50, 0.03))  # (non-customer, customer)
# Persuadable uplift ~ scale * Beta(a, b); means 0.08, 0.04, 0.06.
_UPLIFT_BETA = ((2.0, 5.0, 0.28), (2.0, 6.0, 0.16), (2.0, 5.0, 0.21))
_DOG_HARM = np.array([0.25, 0.20, 0.10])
_DOG_CHURN = np.array([0.04, 0.01, 0.02])
_BASE_HARM = np.array([0.001, 0.003, 0.0])


@dataclass(frozen=True)
class ProductIndex:
    """Products by position, with prerequisites and aliases as indexes."""

    ids: tuple[str, ...]
    prerequisites: tuple[tuple[int, ...], ...]
    alias_of: Ints
    """Canonical product index for an alias column, else -1."""
    price: Floats
    adoption: Floats
    affinity: Floats
    """(3 segments, products) shift in need."""

    @property
    def ids_series(self) -> pl.Series:
        """The product ids as a polars series, for gathering by index."""
        return pl.Series(self.ids, dtype=pl.String)

    def position(self, product_id: str) -> int:
        """Return the column of ``product_id``; aliases map to their canonical column."""
        j = self.ids.index(product_id)
        return int(self.alias_of[j]) if self.alias_of[j] >= 0 else j

    def owned(self, held: Bools) -> Bools:
        """Return ``held`` with a product counted as owned under either of its names."""
        owned = held.copy()
        for alias in np.flatnonzero(self.alias_of >= 0):
            canonical = int(self.alias_of[alias])
            owned[..., canonical] |= held[..., alias]
            owned[..., alias] = owned[..., canonical]
        return owned

    def eligible(self, held: Bools) -> Bools:
        """Return which products each account could buy next: not owned, prerequisites owned."""
        owned = self.owned(held)
        eligible = ~owned
        for p, needs in enumerate(self.prerequisites):
            for q in needs:
                eligible[..., p] &= owned[..., q]
        eligible[..., self.alias_of >= 0] = False
        return eligible


def product_index(entries: tuple[CatalogEntry, ...]) -> ProductIndex:
    """Return the index of a catalog (prerequisites must precede the products needing them)."""
    ids = tuple(e.product_id for e in entries)
    return ProductIndex(
        ids=ids,
        prerequisites=tuple(tuple(ids.index(q) for q in e.prerequisites) for e in entries),
        alias_of=np.array([ids.index(e.alias_of) if e.alias_of else -1 for e in entries]),
        price=np.array([e.list_price for e in entries]),
        adoption=np.array([e.adoption for e in entries]),
        affinity=np.array([e.segment_affinity for e in entries]).T,
    )


def _sigmoid(x: Floats) -> Floats:
    return 1.0 / (1.0 + np.exp(-x))


def draw_need(
    rng: np.random.Generator, products: ProductIndex, segment: Ints, industry: Ints
) -> tuple[Floats, Floats]:
    """Return (need per account and product in 0..1, each account's general appetite)."""
    n, p = len(segment), len(products.ids)
    appetite = rng.normal(-0.3, 0.8, size=n)
    by_industry = rng.normal(0.0, 0.4, size=(int(industry.max(initial=0)) + 1, p))
    logit = (
        appetite[:, None]
        + products.affinity[segment]
        + by_industry[industry]
        + rng.normal(0.0, 0.9, size=(n, p))
        - 0.3
    )
    need = _sigmoid(logit)
    for alias in np.flatnonzero(products.alias_of >= 0):
        need[:, alias] = need[:, products.alias_of[alias]]
    return need, appetite


def hold_at_start(
    rng: np.random.Generator,
    products: ProductIndex,
    need: Floats,
    customer: Bools,
) -> Bools:
    """Return the products each customer holds when the history starts.

    Products are considered in catalog order so a prerequisite is settled before the
    product that needs it; every customer holds at least one product.
    """
    n, p = need.shape
    held = np.zeros((n, p), dtype=bool)
    canonical = products.alias_of < 0
    for j in np.flatnonzero(canonical):
        chance = _sigmoid(products.adoption[j] + 2.5 * (need[:, j] - 0.5))
        take = customer & (rng.random(n) < chance)
        for q in products.prerequisites[j]:
            take &= held[:, q]
        held[:, j] = take
    entry = canonical & np.array([not needs for needs in products.prerequisites])
    empty = customer & ~held.any(axis=1)
    best_entry = np.argmax(np.where(entry, need, -1.0), axis=1)
    held[np.flatnonzero(empty), best_entry[empty]] = True
    for alias in np.flatnonzero(~canonical):
        source = int(products.alias_of[alias])
        renamed = held[:, source] & (rng.random(n) < 0.35)
        held[renamed, source] = False
        held[renamed, alias] = True
    return held


@dataclass(frozen=True)
class Responses:
    """Who each account is and how it answers each motion (see ``HiddenTruth``)."""

    account_class: Ints
    response: Ints
    uplift: Floats
    harm: Floats
    churn: Floats
    baseline: Floats


def draw_responses(
    rng: np.random.Generator,
    *,
    need: Floats,
    segment: Ints,
    customer: Bools,
    duplicate: Bools,
) -> Responses:
    """Return each account's class, response type, uplift, harm and baseline purchase rate."""
    n = len(segment)
    cls = rng.choice(3, size=n, p=np.array(_CLASS_SHARE))
    cls[duplicate] = AccountClass.LOST_CAUSE
    movable = cls == AccountClass.MOVABLE
    u = rng.random((n, 3))
    tables = (
        np.array(_SALES_TYPES)[segment],
        np.array(_DIGITAL_TYPES)[segment],
        np.array(_SERVICE_TYPES)[customer.astype(np.int64)],
    )
    response = np.full((n, 3), int(ResponseType.LOST_CAUSE), dtype=np.int64)
    for m, shares in enumerate(tables):
        persuadable = movable & (u[:, m] < shares[:, 0])
        dog = movable & ~persuadable & (u[:, m] < shares[:, 0] + shares[:, 1])
        response[persuadable, m] = ResponseType.PERSUADABLE
        response[dog, m] = ResponseType.SLEEPING_DOG
    response[cls == AccountClass.SURE_THING] = ResponseType.SURE_THING

    a, b, scale = (np.array(column) for column in zip(*_UPLIFT_BETA, strict=True))
    magnitude = scale * rng.beta(a, b, size=(n, 3))
    is_dog = response == ResponseType.SLEEPING_DOG
    uplift = np.where(response == ResponseType.PERSUADABLE, magnitude, 0.0)
    uplift = np.where(is_dog, -rng.uniform(0.01, 0.03, size=(n, 3)), uplift)
    harm = np.where(is_dog, _DOG_HARM, _BASE_HARM)
    churn = np.where(is_dog & customer[:, None], _DOG_CHURN, 0.0)

    hazard = _CLASS_HAZARD[cls] * np.where(is_dog.any(axis=1), _SLEEPING_DOG_HAZARD, 1.0)
    baseline = _BASE_HAZARD * hazard[:, None] * need**2
    return Responses(
        account_class=cls.astype(np.int64),
        response=response,
        uplift=uplift,
        harm=harm,
        churn=churn,
        baseline=baseline,
    )
