"""Incremental lift: treated accounts against the randomised holdout, with a confidence interval.

The holdout is a stable-hash random sample of accounts that never gets a move, so the
difference between the mean outcome of the other accounts and the holdout's is an unbiased
estimate of what the engine's moves brought per account (the intention-to-treat effect:
it counts every account the engine could act on, acted on or not). The interval is the
normal approximation with Welch's (unequal-variance) standard error, or a percentile
bootstrap over accounts when asked.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from nextmove.measurement.model import Estimate

__all__ = ["difference_in_means", "mean_estimate", "normal_interval"]

Floats = npt.NDArray[np.float64]


def normal_interval(value: float, std_error: float, confidence: float = 0.95) -> Estimate:
    """Return ``value ± z·std_error`` as an :class:`Estimate`."""
    z = float(norm.ppf(0.5 + confidence / 2))
    return Estimate(value, std_error, value - z * std_error, value + z * std_error, confidence)


def mean_estimate(values: Floats, confidence: float = 0.95) -> Estimate:
    """Return the mean of ``values`` with its normal-approximation interval."""
    n = len(values)
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), float("nan"), confidence)
    spread = float(np.std(values, ddof=1)) / np.sqrt(n) if n > 1 else float("inf")
    return normal_interval(float(np.mean(values)), spread, confidence)


def difference_in_means(
    treated: Floats,
    control: Floats,
    *,
    confidence: float = 0.95,
    bootstrap: int = 0,
    seed: int = 0,
) -> Estimate:
    """Return ``mean(treated) − mean(control)`` with its confidence interval.

    Welch's standard error and a normal interval by default; with ``bootstrap`` > 0 the
    interval is the percentile interval of that many resamples of each group (seeded).
    Either group empty gives NaN; a group of one has an infinite standard error.
    """
    t = np.asarray(treated, dtype=np.float64)
    c = np.asarray(control, dtype=np.float64)
    if len(t) == 0 or len(c) == 0:
        nan = float("nan")
        return Estimate(nan, nan, nan, nan, confidence)
    value = float(t.mean() - c.mean())
    if len(t) < 2 or len(c) < 2:
        inf = float("inf")
        return Estimate(value, inf, -inf, inf, confidence)
    std_error = float(np.sqrt(t.var(ddof=1) / len(t) + c.var(ddof=1) / len(c)))
    if bootstrap <= 0:
        return normal_interval(value, std_error, confidence)
    rng = np.random.default_rng(seed)
    t_means = t[rng.integers(0, len(t), (bootstrap, len(t)))].mean(axis=1)
    c_means = c[rng.integers(0, len(c), (bootstrap, len(c)))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(t_means - c_means, [tail, 100 - tail])
    return Estimate(value, std_error, float(low), float(high), confidence)
