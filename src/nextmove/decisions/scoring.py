"""Scoring: each account's best product per action and its expected incremental value.

A :class:`Scorer` turns an account context into :class:`Scores`. The engine's own scorer
is :class:`ModelScorer` (the learned response model blended with the playbook's priors);
other scorers — a challenger policy, the simple baselines a benchmark compares against, an
oracle that knows a simulated company's truth — plug into the same decision pipeline, so
they meet the very same guardrails, capacities and allocation.

Per account and action, the product with the highest expected value is the action's
candidate::

    expected_value = uplift × value of a sale − cost of the motion
                     − extra chance of an unsubscribe × the playbook's unsubscribe_cost
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from nextmove.decisions.candidates import ActionSpec, Catalog, buyable, sale_values
from nextmove.decisions.context import AccountContext
from nextmove.learning.features import account_features, product_interest
from nextmove.learning.response import ResponseModel, prior_shape_of
from nextmove.playbook.model import Playbook

__all__ = [
    "ModelScorer",
    "Scorer",
    "Scores",
    "Spread",
    "scores_from_gains",
    "scores_from_preferences",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

Spread = Callable[[int, Ints, Ints], Floats]
"""(action index, account rows, product columns) → standard deviation of the uplift."""

GainOf = Callable[[int, ActionSpec], Floats]
"""(action index, action) → uplift per account × catalog product."""

HarmOf = Callable[[int, ActionSpec], Floats]
"""(action index, action) → expected cost of the harm done, per account."""


@dataclass(frozen=True)
class Scores:
    """Per action: each account's best product and its numbers (−1 / NaN: none)."""

    product: dict[str, Ints]
    uplift: dict[str, Floats]
    value: dict[str, Floats]
    expected_value: dict[str, Floats]
    spread: Spread | None
    """How uncertain each uplift is; ``None``: the scorer is certain (confidence 1)."""
    version: str
    """What scored (a model version, a baseline's name); stored with every decision."""


class Scorer(Protocol):
    """Scores every account of a context for every action."""

    def score(
        self,
        context: AccountContext,
        playbook: Playbook,
        catalog: Catalog,
        specs: Sequence[ActionSpec],
    ) -> Scores:
        """Return each account's best product per action and its expected value."""
        ...


def scores_from_gains(
    context: AccountContext,
    playbook: Playbook,
    catalog: Catalog,
    specs: Sequence[ActionSpec],
    gain_of: GainOf,
    *,
    version: str,
    spread: Spread | None = None,
    harm_of: HarmOf | None = None,
) -> Scores:
    """Pick each action's best buyable product from per-product uplifts (``gain_of``).

    ``harm_of`` gives each account's expected cost of the harm the action does (e.g. an
    unsubscribe), whatever the product.
    """
    values = sale_values(playbook, catalog, context.frame["segment"])

    def value_of(k: int, spec: ActionSpec) -> tuple[Floats, Floats]:
        gain = gain_of(k, spec)
        cost = spec.cost if harm_of is None else spec.cost + harm_of(k, spec)[:, None]
        return gain * values - cost, gain

    return _best_products(context, catalog, specs, values, value_of, version, spread)


def scores_from_preferences(
    context: AccountContext,
    playbook: Playbook,
    catalog: Catalog,
    specs: Sequence[ActionSpec],
    preference_of: GainOf,
    *,
    version: str,
) -> Scores:
    """Rank by a preference that stands in for the expected value (policies that rank
    accounts without valuing a move, such as rules or a propensity score). Uplift reads 0.
    """
    values = sale_values(playbook, catalog, context.frame["segment"])

    def value_of(k: int, spec: ActionSpec) -> tuple[Floats, Floats]:
        preference = preference_of(k, spec)
        return preference, np.zeros_like(preference)

    return _best_products(context, catalog, specs, values, value_of, version, None)


def _best_products(
    context: AccountContext,
    catalog: Catalog,
    specs: Sequence[ActionSpec],
    values: Floats,
    value_of: Callable[[int, ActionSpec], tuple[Floats, Floats]],
    version: str,
    spread: Spread | None,
) -> Scores:
    frame = context.frame
    n = frame.height
    can_buy = buyable(frame, catalog)
    product, uplift, value, expected = {}, {}, {}, {}
    rows = np.arange(n)
    for k, spec in enumerate(specs):
        carried = np.zeros(len(catalog.product_ids), dtype=bool)
        carried[list(spec.products)] = True
        mask = can_buy & carried[None, :]
        if not mask.any():
            product[spec.name] = np.full(n, -1)
            uplift[spec.name] = value[spec.name] = expected[spec.name] = np.full(n, np.nan)
            continue
        ev, gain = value_of(k, spec)
        ev = np.where(mask, ev, -np.inf)
        best = np.argmax(ev, axis=1)
        has = mask[rows, best]
        product[spec.name] = np.where(has, best, -1)
        uplift[spec.name] = np.where(has, gain[rows, best], np.nan)
        value[spec.name] = np.where(has, values[rows, best], np.nan)
        expected[spec.name] = np.where(has, ev[rows, best], np.nan)
    return Scores(product, uplift, value, expected, spread, version)


@dataclass(frozen=True)
class ModelScorer:
    """The engine's scorer: the response model's uplift, its bootstrap spread as doubt."""

    model: ResponseModel

    def score(
        self,
        context: AccountContext,
        playbook: Playbook,
        catalog: Catalog,
        specs: Sequence[ActionSpec],
    ) -> Scores:
        """Score with the model (see :class:`ResponseModel`)."""
        frame = context.frame
        features = account_features(frame, playbook).matrix
        interest = product_interest(
            context.product_interest, frame["account_id"], catalog.product_ids
        )
        shape = prior_shape_of(interest)
        model = self.model

        def gain_of(k: int, _spec: ActionSpec) -> Floats:
            return model.uplift(k, features, interest, prior_shape=shape)

        def spread(k: int, rows: Ints, products: Ints) -> Floats:
            return model.uplift_sd(k, features[rows], interest[rows], products)

        unsubscribe_cost = playbook.value.unsubscribe_cost

        def harm_of(k: int, _spec: ActionSpec) -> Floats:
            return model.harm(k, features) * unsubscribe_cost

        return scores_from_gains(
            context,
            playbook,
            catalog,
            specs,
            gain_of,
            version=model.version,
            spread=spread,
            harm_of=harm_of if model.harm_model is not None and unsubscribe_cost else None,
        )
