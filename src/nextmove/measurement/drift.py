"""Drift detectors: sequential change detection on rates, and population stability.

* :func:`bernoulli_cusum` — Page's CUSUM of the log-likelihood ratio for daily successes
  out of trials, from an expected rate ``p0`` to ``p0·(1 ± shift)``: the optimal detector
  for a step change of that size. It fires when the sum exceeds ``threshold`` (at the
  default 8, a stable rate raises a false alarm in about 1 of 60 two-month series).
* :func:`page_hinkley` — the Page–Hinkley test on a numeric series against its running
  mean: no expected value needed, fires when the series moves by more than ``delta`` per
  step for long enough to add up to ``threshold``.
* :func:`psi` / :func:`psi_numeric` — the population stability index between a reference
  distribution and a recent one; below 0.1 is stable, 0.1–0.25 moderate, above 0.25 a
  real shift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ChangeDetection", "bernoulli_cusum", "page_hinkley", "psi", "psi_numeric"]

Floats = npt.NDArray[np.float64]

_EPSILON = 1e-4
"""Share given to a category or bin seen on one side only, so PSI stays finite."""


@dataclass(frozen=True)
class ChangeDetection:
    """Where a sequential detector fired (or not), and its statistic at every step."""

    alarm_at: int | None
    """The first step whose statistic crossed the threshold."""
    change_at: int | None
    """The estimated first step of the change (just after the statistic last was 0)."""
    direction: str | None
    """``down`` or ``up``."""
    statistic: Floats
    """The larger of the two one-sided statistics at each step."""


def _first_crossing(path: Floats, threshold: float) -> int | None:
    above = np.flatnonzero(path > threshold)
    return int(above[0]) if len(above) else None


def _start_of_run(path: Floats, alarm: int) -> int:
    zeros = np.flatnonzero(path[: alarm + 1] <= 0)
    return int(zeros[-1]) + 1 if len(zeros) else 0


def _cusum_path(increments: Floats) -> Floats:
    path = np.zeros(len(increments))
    level = 0.0
    for i, step in enumerate(increments):
        level = max(0.0, level + float(step))
        path[i] = level
    return path


def _detection(paths: dict[str, Floats], threshold: float) -> ChangeDetection:
    alarms = {d: _first_crossing(p, threshold) for d, p in paths.items()}
    fired = {d: at for d, at in alarms.items() if at is not None}
    statistic = np.maximum(*paths.values()) if len(paths) == 2 else next(iter(paths.values()))
    if not fired:
        return ChangeDetection(None, None, None, statistic)
    direction = min(fired, key=lambda d: fired[d])
    alarm = fired[direction]
    return ChangeDetection(alarm, _start_of_run(paths[direction], alarm), direction, statistic)


def bernoulli_cusum(
    successes: Sequence[float] | Floats,
    trials: Sequence[float] | Floats,
    p0: float,
    *,
    shift: float = 0.5,
    threshold: float = 8.0,
    sides: Sequence[str] = ("down", "up"),
) -> ChangeDetection:
    """Detect a relative change of ``shift`` in a daily success rate expected at ``p0``."""
    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    p0 = min(max(p0, 1e-6), 1 - 1e-6)
    paths = {}
    for side in sides:
        p1 = min(max(p0 * (1 - shift if side == "down" else 1 + shift), 1e-6), 1 - 1e-6)
        llr = x * np.log(p1 / p0) + (n - x) * np.log((1 - p1) / (1 - p0))
        paths[side] = _cusum_path(llr)
    return _detection(paths, threshold)


def page_hinkley(
    values: Sequence[float] | Floats,
    *,
    delta: float,
    threshold: float,
    sides: Sequence[str] = ("down", "up"),
) -> ChangeDetection:
    """Detect a shift of a series away from its running mean (Page–Hinkley)."""
    x = np.asarray(values, dtype=np.float64)
    running = np.cumsum(x) / np.arange(1, len(x) + 1) if len(x) else x
    paths = {}
    for side in sides:
        deviation = (running - x if side == "down" else x - running) - delta
        cumulative = np.cumsum(deviation)
        paths[side] = cumulative - np.minimum.accumulate(np.minimum(cumulative, 0.0))
    return _detection(paths, threshold)


def psi(reference: Sequence[float] | Floats, recent: Sequence[float] | Floats) -> float:
    """Return the PSI of two histograms over the same categories or bins (counts)."""
    e = np.asarray(reference, dtype=np.float64)
    a = np.asarray(recent, dtype=np.float64)
    if e.sum() <= 0 or a.sum() <= 0:
        return 0.0
    e = np.maximum(e / e.sum(), _EPSILON)
    a = np.maximum(a / a.sum(), _EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_numeric(reference: Floats, recent: Floats, bins: int = 10) -> float:
    """Return the PSI of two samples of one number, binned at the reference's quantiles.

    Ties and point masses (a feature mostly 0, a flag, a constant) do not break the bins:
    the edges are the distinct quantiles, so a value held by many falls in one bin with
    the values just above it. Values above the reference's largest are a bin of their own
    (so a constant that starts to vary shows either way), and so are missing ones (NaN).
    """
    e = np.asarray(reference, dtype=np.float64)
    a = np.asarray(recent, dtype=np.float64)
    if len(e) == 0 or len(a) == 0:
        return 0.0
    known = e[~np.isnan(e)]
    if len(known) == 0:  # nothing but missing: all that can move is the missing share
        missing = float(np.count_nonzero(np.isnan(a)))
        return psi([0.0, float(len(e))], [len(a) - missing, missing])
    edges = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1]))
    top = float(known.max())
    return psi(_histogram(e, edges, top), _histogram(a, edges, top))


def _histogram(values: Floats, edges: Floats, top: float) -> Floats:
    """Counts in: below edges[0], each [edges[i-1], edges[i]), from the last edge up to
    ``top``, above ``top``, missing."""
    missing = np.isnan(values)
    known = values[~missing]
    index = np.searchsorted(edges, known, side="right") + (known > top)
    counts = np.bincount(index, minlength=len(edges) + 2).astype(np.float64)
    return np.append(counts, float(np.count_nonzero(missing)))
