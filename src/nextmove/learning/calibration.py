"""How much of the uplift a model predicted came true, per motion, on held-out decisions.

A model that ranks moves by their predicted uplift makes the moves whose uplift it
overstates most (the winner's curse), and a playbook's priors may be hopeful: the
expected value of marginal moves is then too high, and capacity goes to moves that lose
money. So each motion's uplift is scaled by what held-out decisions showed. Over the
held-out rows of moves of motion m::

    predicted extra purchases = Σ p(base + uplift) − Σ p(base)
    observed extra purchases  = purchases seen − r₀ · Σ p(base)

``r₀`` is the base rate's own calibration (purchases seen over those expected on rows
without a move), so a base rate that is off is not blamed on the uplift. The raw factor
``observed / predicted`` has a standard error of about ``√purchases / predicted``; it is
shrunk toward 1 by that uncertainty (a prior standard deviation of ``PRIOR_SD``) and kept
within [``MIN_FACTOR``, ``MAX_FACTOR``]: never zero, so a motion judged weak can still be
explored and learned back, and never above 1 — selection makes optimism the error to
expect, and a few lucky purchases must not inflate what a model believes (a model that
is too pessimistic is corrected by its next fit, not by scaling). Probabilities are of
buying within the part of the window each row has been seen for: ``1 − (1 − p)^exposure``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_FACTOR", "MIN_FACTOR", "PRIOR_SD", "uplift_factors"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

PRIOR_SD = 0.5
MIN_FACTOR = 0.2
MAX_FACTOR = 1.0
MIN_PREDICTED = 2.0
"""A motion predicted fewer extra purchases than this on the held-out rows: no factor."""
MIN_BASE_EXPECTED = 20.0
"""Fewer purchases expected on rows without a move: the base rate is taken as it is."""


def uplift_factors(
    base: Floats,
    uplift: Floats,
    bought: Floats,
    *,
    exposure: Floats,
    motion: Ints,
    actions: int,
) -> tuple[float, ...]:
    """Per action, the shrunk share of its predicted uplift that came true (1: unknown)."""
    seen = np.clip(exposure, 0.0, 1.0)
    p_base = _within(base, seen)
    p_moved = _within(np.clip(base + uplift, 0.0, 1.0 - 1e-9), seen)
    idle = motion < 0
    expected_idle = float(p_base[idle].sum())
    r0 = 1.0
    if expected_idle >= MIN_BASE_EXPECTED:
        r0 = float(np.clip(bought[idle].sum() / expected_idle, 0.5, 2.0))
    factors = []
    for k in range(actions):
        at = motion == k
        predicted = float(p_moved[at].sum() - p_base[at].sum())
        if predicted < MIN_PREDICTED:
            factors.append(1.0)
            continue
        purchases = float(bought[at].sum())
        observed = purchases - r0 * float(p_base[at].sum())
        raw = observed / predicted
        se = max(np.sqrt(max(purchases, 1.0)) / predicted, 1e-9)
        weight = PRIOR_SD**2 / (PRIOR_SD**2 + se**2)
        factors.append(float(np.clip(1.0 + (raw - 1.0) * weight, MIN_FACTOR, MAX_FACTOR)))
    return tuple(factors)


def _within(probability: Floats, exposure: Floats) -> Floats:
    share: Floats = 1.0 - np.power(1.0 - np.clip(probability, 0.0, 1.0 - 1e-9), exposure)
    return share
