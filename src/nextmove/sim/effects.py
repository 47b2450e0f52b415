"""What a motion does to an account, straight from the hidden truth (the oracle's arithmetic)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from nextmove.errors import SimulationError
from nextmove.sim.model import MOTIONS, HiddenTruth, Motion
from nextmove.sim.truth import ProductIndex

__all__ = ["NO_ACTION", "ActionEffects", "action_effects", "drift_factors", "motion_codes"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

NO_ACTION = len(MOTIONS)
"""The motion code of ``no_action`` (the active motions are 0..2 in ``MOTIONS`` order)."""


def motion_codes(motions: Sequence[Motion | str]) -> Ints:
    """Return the motion code of each motion name (``no_action`` -> ``NO_ACTION``)."""
    codes = {m.value: i for i, m in enumerate(MOTIONS)} | {Motion.NO_ACTION.value: NO_ACTION}
    try:
        return np.array([codes[Motion(m).value] for m in motions], dtype=np.int64)
    except ValueError as exc:
        raise SimulationError(f"unknown motion: {exc}") from None


def drift_factors(*, day_index: int, change_day: int, digital_drift: float) -> Floats:
    """Return the multiplier on each motion's response on ``day_index`` (plus 0 for no action)."""
    digital = digital_drift if day_index >= change_day else 1.0
    return np.array([1.0, digital, 1.0, 0.0])


@dataclass(frozen=True)
class ActionEffects:
    """Per action: the product it is about and how it moves next-day probabilities."""

    target: Ints
    """Product index the action is about, or -1 when the account can buy nothing."""
    base: Floats
    """Probability of buying ``target`` tomorrow with no action."""
    treated: Floats
    """Probability of buying ``target`` tomorrow after the action."""
    harm: Floats
    """Probability the action makes a contact unsubscribe."""
    churn: Floats
    """Probability the action makes a customer leave."""

    @property
    def uplift(self) -> Floats:
        """Change in the probability of buying ``target`` tomorrow."""
        return self.treated - self.base


def action_effects(
    truth: HiddenTruth,
    products: ProductIndex,
    *,
    held: Bools,
    churned: Bools,
    account: Ints,
    motion: Ints,
    product: Ints,
    drift: Floats,
) -> ActionEffects:
    """Return the effects of actions (account, motion code, product index or -1) given the state.

    Without a product the action is about the account's most-needed eligible product;
    its response is scaled by how well the product fits (its need relative to that best).
    """
    eligible = products.eligible(held[account]) & ~churned[account, None]
    need = np.where(eligible, truth.need[account], -1.0)
    best = np.argmax(need, axis=1)
    best_need = need[np.arange(len(account)), best]
    target = np.where(product >= 0, product, best)
    on_target = need[np.arange(len(account)), target]
    target = np.where(on_target > 0, target, -1)
    fit = np.where(target >= 0, on_target / np.maximum(best_need, 1e-9), 0.0)
    safe = np.maximum(target, 0)
    base = np.where(target >= 0, truth.baseline[account, safe], 0.0)
    active = motion < NO_ACTION
    column = np.minimum(motion, NO_ACTION - 1)
    uplift = np.where(active, truth.uplift[account, column], 0.0) * drift[motion] * fit
    treated = np.clip(base + uplift, 0.0, 1.0)
    harm = np.where(active, truth.harm[account, column], 0.0)
    churn = np.where(active & ~churned[account], truth.churn[account, column], 0.0)
    return ActionEffects(target=target, base=base, treated=treated, harm=harm, churn=churn)
