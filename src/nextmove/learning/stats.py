"""Small statistics shared by learning's comparisons."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Z95", "ClusteredMean", "clustered_mean"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

Z95 = 1.959963984540054


@dataclass(frozen=True)
class ClusteredMean:
    """A mean over rows with its 95% interval, rows of one cluster counted as dependent."""

    rows: int
    mean: float
    low: float
    high: float


def clustered_mean(values: Floats, groups: Ints) -> ClusteredMean:
    """Mean of ``values`` (NaN skipped) with a cluster-robust 95% interval.

    The standard error sums the deviations per cluster (an account's rows are not
    independent) before squaring; fewer than two rows give an unbounded interval.
    """
    at = ~np.isnan(values)
    n = int(at.sum())
    if n < 2:
        mean = float(values[at].mean()) if n else 0.0
        return ClusteredMean(n, mean, -np.inf, np.inf)
    kept = values[at]
    mean = float(kept.mean())
    _, cluster = np.unique(groups[at], return_inverse=True)
    per_cluster = np.bincount(cluster, weights=kept - mean)
    clusters = len(per_cluster)
    correction = clusters / max(clusters - 1, 1)
    se = float(np.sqrt(correction * np.sum(per_cluster**2)) / n)
    return ClusteredMean(n, mean, mean - Z95 * se, mean + Z95 * se)
