"""Vectorised draws shared by the generators."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["pick_column", "repeat_by_weight"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def pick_column(rng: np.random.Generator, weight: Floats) -> Ints:
    """Return one column per row drawn in proportion to ``weight``; -1 where a row is all zero."""
    if len(weight) == 0:
        return np.zeros(0, dtype=np.int64)
    cdf = np.cumsum(weight, axis=1)
    total = cdf[:, -1]
    u = rng.random(len(weight)) * total
    picked = (cdf <= u[:, None]).sum(axis=1)
    return np.where(total > 0, np.minimum(picked, weight.shape[1] - 1), -1).astype(np.int64)


def repeat_by_weight(rng: np.random.Generator, weight: Floats, count: int) -> Ints:
    """Return ``count`` row indexes drawn in proportion to ``weight``, in ascending order."""
    total = weight.sum()
    if count == 0 or total <= 0:
        return np.zeros(0, dtype=np.int64)
    per_row = rng.multinomial(count, weight / total)
    return np.repeat(np.arange(len(weight), dtype=np.int64), per_row)
