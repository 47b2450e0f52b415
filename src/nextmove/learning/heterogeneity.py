"""Whether learning who responds beats the simple policy: one uplift per segment.

On real marketing data the differences between customers are often too weak for a learned
uplift model to beat "this motion for everyone in the segment (or nothing)". So each
motion's account-level terms (``u_m·x`` and ``s_m·z`` of the response model) must earn
their place: both variants are fitted on the same folds of accounts and compared on the
held-out rows of that motion by log loss; the account-level terms are kept only when the
improvement's 95% confidence interval (clustered by account) lies above zero. Otherwise
the motion's effect is flat within each segment — the simple policy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from nextmove.learning.stats import clustered_mean

__all__ = ["HeterogeneityTest", "compare_heterogeneity", "motion_columns"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

Fit = Callable[[Floats, Floats], Floats]
"""(design, outcomes) → intercept followed by the coefficients."""

MIN_HELD_OUT = 30
"""Fewer held-out rows of a motion than this cannot show anything: the simple policy."""


@dataclass(frozen=True)
class HeterogeneityTest:
    """One motion's comparison: learned account-level uplift against one per segment."""

    action: str
    rows: int
    """Held-out rows of the motion compared."""
    gain: float
    """Mean log-loss improvement per held-out row (simple − learned; > 0: learned better)."""
    low: float
    high: float

    @property
    def learned_wins(self) -> bool:
        """Whether the learned uplift is better with 95% confidence."""
        return self.rows >= MIN_HELD_OUT and self.low > 0.0


def motion_columns(
    *, features: int, products: int, actions: int, segment_features: Sequence[int]
) -> list[tuple[Bools, Bools]]:
    """Per action: (all its design columns, its account-level columns beyond segments).

    The design (without intercept) is ``x, z, products, then per action: on, on·x, on·z``.
    """
    width = features + 1 + products + actions * (features + 2)
    shared = features + 1 + products
    found = []
    for k in range(actions):
        start = shared + k * (features + 2)
        block = np.zeros(width, dtype=bool)
        block[start : start + features + 2] = True
        detail = np.zeros(width, dtype=bool)
        detail[start + 1 : start + 1 + features] = True
        detail[[start + 1 + s for s in segment_features]] = False
        detail[start + 1 + features] = True  # the interest slope
        found.append((block, detail))
    return found


def compare_heterogeneity(
    design: Floats,
    bought: Floats,
    motion: Ints,
    groups: Ints,
    actions: Sequence[str],
    detail_columns: Sequence[Bools],
    fit: Fit,
    *,
    folds: int = 3,
    seed: int = 0,
) -> list[HeterogeneityTest]:
    """Cross-fit the learned model and, per motion, the model without its account-level
    terms (every other motion keeps its own); compare them on that motion's rows.

    ``detail_columns[k]`` are the design columns the simple model drops for action ``k``.
    Rows of one group (an account) always fall in the same fold.
    """
    unique, group_index = np.unique(groups, return_inverse=True)
    fold_of = np.random.default_rng(seed).integers(0, folds, len(unique))[group_index]
    loss_learned = np.full(len(bought), np.nan)
    loss_simple = [np.full(len(bought), np.nan) for _ in actions]
    for f in range(folds):
        train, test = fold_of != f, fold_of == f
        if not test.any() or bought[train].min() == bought[train].max():
            continue
        learned = fit(design[train], bought[train])
        loss_learned[test] = _log_loss(learned, design[test], bought[test])
        for k, detail in enumerate(detail_columns):
            rows = test & (motion == k)
            if not rows.any():
                continue
            simple_design = design * ~detail
            simple = fit(simple_design[train], bought[train])
            loss_simple[k][rows] = _log_loss(simple, simple_design[rows], bought[rows])
    return [
        _test(name, loss_simple[k] - loss_learned, group_index, motion == k)
        for k, name in enumerate(actions)
    ]


def _log_loss(theta: Floats, design: Floats, bought: Floats) -> Floats:
    p = np.clip(expit(theta[0] + design @ theta[1:]), 1e-9, 1 - 1e-9)
    loss: Floats = -(bought * np.log(p) + (1 - bought) * np.log(1 - p))
    return loss


def _test(action: str, improvement: Floats, groups: Ints, rows: Bools) -> HeterogeneityTest:
    """Mean improvement over the motion's held-out rows, with an account-clustered CI."""
    found = clustered_mean(improvement[rows], groups[rows])
    return HeterogeneityTest(action, found.rows, found.mean, found.low, found.high)
