"""Harm: how much a motion raises the chance that the account's contact unsubscribes.

Pressure has a price the purchase model does not see: some accounts answer a motion by
withdrawing their permission (and the accounts that do are often the ones that would
have bought on their own). One logistic regression over logged decisions, one row each::

    logit P(unsubscribe | x, none)   = a0 + v·x
    logit P(unsubscribe | x, motion) = a0 + v·x + h_m + w_m·x

with the L2 penalty pulling the motion terms toward "no harm". The harm of a move is the
difference of the two, never below zero (a motion is not credited for keeping people
subscribed); its expected cost is that times the playbook's ``unsubscribe_cost``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

__all__ = ["HarmModel", "fit_harm_model"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

_C = 0.5
MIN_UNSUBSCRIBES = 5
"""Fewer unsubscribes than this in the history teach nothing: no harm model."""


@dataclass(frozen=True)
class HarmModel:
    """A fitted harm model; plain numbers, stored inside the response model's JSON."""

    actions: tuple[str, ...]
    mean: Floats
    scale: Floats
    coefs: Floats
    """Intercept, v (d), then per action h_m and w_m (d)."""
    rows: int
    unsubscribes: int

    def harm(self, action: int, features: Floats) -> Floats:
        """Extra chance of an unsubscribe caused by ``action``, per account (≥ 0)."""
        d = len(self.mean)
        x = (features - self.mean) / self.scale
        base = self.coefs[0] + x @ self.coefs[1 : 1 + d]
        start = 1 + d + action * (d + 1)
        treated = base + self.coefs[start] + x @ self.coefs[start + 1 : start + 1 + d]
        extra: Floats = np.maximum(expit(treated) - expit(base), 0.0)
        return extra

    def to_dict(self) -> dict[str, Any]:
        """Return the model as plain JSON-able values."""
        return {
            "actions": list(self.actions),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coefs": self.coefs.tolist(),
            "rows": self.rows,
            "unsubscribes": self.unsubscribes,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> HarmModel:
        """Return the model :meth:`to_dict` wrote."""
        return cls(
            actions=tuple(values["actions"]),
            mean=np.asarray(values["mean"], dtype=np.float64),
            scale=np.asarray(values["scale"], dtype=np.float64),
            coefs=np.asarray(values["coefs"], dtype=np.float64),
            rows=int(values["rows"]),
            unsubscribes=int(values["unsubscribes"]),
        )


def fit_harm_model(
    features: Floats, motion: Ints, unsubscribed: Floats, actions: Sequence[str]
) -> HarmModel | None:
    """Fit on one row per logged decision (``motion`` −1: no action); None without enough
    unsubscribes to learn from."""
    n = len(unsubscribed)
    events = int(unsubscribed.sum())
    if n == 0 or events < MIN_UNSUBSCRIBES or events == n:
        return None
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    x = (features - mean) / scale
    blocks = [x]
    for k in range(len(actions)):
        on = (motion == k).astype(np.float64)[:, None]
        blocks += [on, on * x]
    fit = LogisticRegression(C=_C, max_iter=500).fit(np.hstack(blocks), unsubscribed)
    return HarmModel(
        actions=tuple(actions),
        mean=mean,
        scale=scale,
        coefs=np.concatenate([fit.intercept_, fit.coef_[0]]),
        rows=n,
        unsubscribes=events,
    )
