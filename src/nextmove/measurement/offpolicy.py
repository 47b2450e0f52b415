"""Off-policy evaluation: what another policy would have been worth, from logged decisions.

Every logged decision stores the probability ``p`` with which its action was chosen
(exploration keeps it above zero for every allowed action). For a target policy that
takes action ``π(x)`` with probability ``π(a|x)``, the weight of a logged decision is
``w = π(a|x) / p`` and

* IPS   ``V = mean(w·r)``                                   unbiased, high variance;
* SNIPS ``V = Σ w·r / Σ w``                                 slightly biased, steadier;
* DR    ``V = mean(q̂(x, π) + w·(r − q̂(x, a)))``             unbiased when either the
  propensities or the reward model ``q̂`` are right; ``q̂(x, π) = Σ_a π(a|x) q̂(x, a)``.

Intervals are normal approximations (the delta method for SNIPS). The effective sample
size ``(Σw)² / Σw²`` says how many logged decisions the estimate really rests on.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from nextmove.measurement.lift import normal_interval
from nextmove.measurement.model import Estimate, OffPolicyEstimate

__all__ = [
    "action_means",
    "doubly_robust",
    "dr_difference_terms",
    "effective_sample_size",
    "ips",
    "off_policy",
    "snips",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def effective_sample_size(weights: Floats) -> float:
    """Return ``(Σw)² / Σw²`` (0 when every weight is 0)."""
    squares = float(np.sum(weights**2))
    return float(np.sum(weights)) ** 2 / squares if squares > 0 else 0.0


def _spread(values: Floats) -> float:
    n = len(values)
    return float(np.std(values, ddof=1) / np.sqrt(n)) if n > 1 else float("inf")


def ips(rewards: Floats, weights: Floats, confidence: float = 0.95) -> Estimate:
    """Return the inverse-propensity estimate of the target's value per decision."""
    terms = weights * rewards
    return normal_interval(float(np.mean(terms)), _spread(terms), confidence)


def snips(rewards: Floats, weights: Floats, confidence: float = 0.95) -> Estimate:
    """Return the self-normalised estimate (NaN when no logged decision matches)."""
    total = float(np.sum(weights))
    if total <= 0:
        nan = float("nan")
        return Estimate(nan, nan, nan, nan, confidence)
    value = float(np.sum(weights * rewards)) / total
    spread = float(np.sqrt(np.sum((weights * (rewards - value)) ** 2))) / total
    return normal_interval(value, spread, confidence)


def doubly_robust(
    rewards: Floats,
    weights: Floats,
    predicted_logged: Floats,
    predicted_target: Floats,
    confidence: float = 0.95,
) -> Estimate:
    """Return the doubly robust estimate, ``q̂`` at the logged and the target's actions."""
    terms = predicted_target + weights * (rewards - predicted_logged)
    return normal_interval(float(np.mean(terms)), _spread(terms), confidence)


def action_means(
    rewards: Floats, actions: Ints, n_actions: int, weights: Floats | None = None
) -> Floats:
    """Return the mean reward of each action (a simple reward model ``q̂(a)``; 0 if unseen).

    With ``weights`` (e.g. ``1/p``) each logged decision counts by its weight.
    """
    w = np.ones(len(rewards)) if weights is None else weights
    totals = np.bincount(actions, weights=w * rewards, minlength=n_actions)
    counts = np.bincount(actions, weights=w, minlength=n_actions)
    means: Floats = np.divide(totals, counts, out=np.zeros(n_actions), where=counts > 0)
    return means


def off_policy(
    rewards: Floats,
    propensities: Floats,
    logged: Ints,
    target: Floats,
    *,
    baseline: int | None = None,
    confidence: float = 0.95,
) -> list[OffPolicyEstimate]:
    """Return IPS, SNIPS and DR estimates of a target policy's value per decision.

    ``logged`` is each decision's action index; ``target`` is the target policy's
    probability of each action, shape ``(decisions, actions)`` (one-hot for a
    deterministic policy). With ``baseline`` (an action index, e.g. doing nothing) the
    estimates are of the target's value *minus* that of always taking the baseline: its
    incremental value, where whatever happens anyway cancels. DR's reward model is the
    inverse-propensity-weighted mean reward of each action (see :func:`action_means`).
    """
    n = len(rewards)
    weights = target[np.arange(n), logged] / propensities
    q = action_means(rewards, logged, target.shape[1], 1.0 / propensities)
    size = effective_sample_size(weights)
    if baseline is None:
        dr = doubly_robust(rewards, weights, q[logged], target @ q, confidence)
        found = (ips(rewards, weights, confidence), snips(rewards, weights, confidence), dr)
    else:
        base = (logged == baseline) / propensities
        dr = doubly_robust(rewards, weights - base, q[logged], target @ q - q[baseline], confidence)
        found = (
            ips(rewards, weights - base, confidence),
            _snips_difference(rewards, weights, base, confidence),
            dr,
        )
    return [
        OffPolicyEstimate(m, e, size) for m, e in zip(("ips", "snips", "dr"), found, strict=True)
    ]


def _snips_difference(rewards: Floats, target: Floats, base: Floats, confidence: float) -> Estimate:
    """SNIPS of the target minus SNIPS of the baseline, by the delta method."""
    if target.sum() <= 0 or base.sum() <= 0:
        nan = float("nan")
        return Estimate(nan, nan, nan, nan, confidence)
    v_t = float(np.sum(target * rewards) / np.sum(target))
    v_b = float(np.sum(base * rewards) / np.sum(base))
    terms = target * (rewards - v_t) / np.mean(target) - base * (rewards - v_b) / np.mean(base)
    return normal_interval(v_t - v_b, _spread(terms), confidence)


def dr_difference_terms(
    rewards: Floats, propensities: Floats, logged: Ints, first: Ints, second: Ints, n_actions: int
) -> Floats:
    """Per logged decision, the doubly robust term of deterministic policy ``first`` minus
    that of ``second`` (each an action index per decision); their mean estimates how much
    more ``first`` brings per decision.

    Both share the reward model (see :func:`action_means`), so the terms are zero where
    the two policies agree: the comparison rests only on the decisions where they differ.
    """
    q = action_means(rewards, logged, n_actions, 1.0 / propensities)
    chosen = (logged == first).astype(np.float64) - (logged == second).astype(np.float64)
    terms: Floats = q[first] - q[second] + chosen / propensities * (rewards - q[logged])
    return terms
