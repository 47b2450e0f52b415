"""Response and uplift: how likely an account buys a product, with and without each motion.

The model is one logistic regression over stacked (account, product, motion) rows::

    logit P(buy p | x, none)   = b0 + w·x + g·z_p + d_p
    logit P(buy p | x, motion) = logit P(buy p | x, none) + t_m + u_m·x + s_m·z_p

``x`` are the account features, ``z_p`` the account's interest in ``p``, ``d_p`` a product
offset. The motion terms are deviations from the shared baseline, and the L2 penalty pulls
them towards zero: with little history every motion looks like "no effect" plus what the
data clearly say, and segments and products pool their strength through the shared terms.
A bootstrap ensemble of fits carries the uncertainty.

Each motion's account-level terms (``u_m·x``, ``s_m·z``) are kept only when they beat one
uplift per segment on held-out accounts with 95% confidence
(:mod:`nextmove.learning.heterogeneity`); otherwise the motion's effect is flat within a
segment — the simple policy — and ``ResponseModel.heterogeneous`` says which was used.

Uplift (P with the motion − P without) is then shrunk toward the playbook's prior with
weight n / (n + ``PRIOR_STRENGTH``), n the motion's logged decisions in the training
data: on day one (n = 0) the prior alone decides, and the data take over as they come in.
The day-one prior is the playbook's ``prior_uplift`` of the motion, scaled by the account's
interest in the product (no interest: a quarter of it), with a standard deviation as large
as the prior itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from nextmove.learning.harm import HarmModel, fit_harm_model
from nextmove.learning.heterogeneity import (
    HeterogeneityTest,
    compare_heterogeneity,
    motion_columns,
)
from nextmove.playbook.model import Channel, Playbook

__all__ = [
    "DAY_ONE_BASE_RATE",
    "PRIOR_STRENGTH",
    "DEFAULT_PRIOR_UPLIFT",
    "ResponseModel",
    "TrainingRows",
    "fit_response_model",
    "prior_model",
    "prior_shape_of",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

DAY_ONE_BASE_RATE = 0.01
"""Before any history: chance that an account without interest buys within the window."""
PRIOR_STRENGTH = 300.0
"""How many logged decisions of a motion weigh as much as its prior."""
DEFAULT_PRIOR_UPLIFT: Mapping[Channel, float] = {
    Channel.MEETING: 0.04,
    Channel.PHONE: 0.03,
    Channel.EMAIL: 0.005,
    Channel.NONE: 0.0,
}
"""The prior uplift of a motion whose playbook gives none, by how it reaches people."""
_BOOTSTRAPS = 6
_C = 0.5
_MAX_COMPARED_ROWS = 100_000


@dataclass(frozen=True)
class TrainingRows:
    """Stacked rows: features, interest in the row's product, product, motion, outcome.

    ``motion`` indexes the model's ``actions`` (-1: no action); ``bought`` is 1 when the
    account bought the row's product within the attribution window.
    """

    features: Floats
    interest: Floats
    product: Ints
    motion: Ints
    bought: Floats
    group: Ints | None = None
    """The account of each row (rows of one account are not independent); None: each row."""
    unsubscribed: Floats | None = None
    """1 when the account's contact unsubscribed within the window (for the harm model)."""
    decision_row: Bools | None = None
    """True on one row per logged decision (the harm model learns from those)."""
    exposure: Floats | None = None
    """The share of the row's attribution window seen by the time labels were cut (1: all)."""


@dataclass(frozen=True)
class ResponseModel:
    """A fitted (or prior-only) response model; plain numbers, so it is stored as JSON."""

    feature_names: tuple[str, ...]
    product_ids: tuple[str, ...]
    actions: tuple[str, ...]
    prior_uplift: tuple[float, ...]
    mean: Floats
    scale: Floats
    coefs: Floats
    """One row per bootstrap fit (none: prior only); see ``_layout``."""
    logged: tuple[int, ...]
    """Logged decisions per action in the training rows."""
    rows: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    heterogeneous: tuple[bool, ...] = ()
    """Per action: whether its learned account-level uplift beat one uplift per segment
    on held-out data (see :mod:`nextmove.learning.heterogeneity`); else it is flat."""
    harm_model: HarmModel | None = None
    """How much each motion raises the chance of an unsubscribe (None: not learned)."""
    uplift_scale: tuple[float, ...] = ()
    """Per action: what share of the uplift it predicted came true on held-out decisions
    (see :mod:`nextmove.learning.calibration`); empty: 1 for every action."""

    def uplift_factor(self, action: int) -> float:
        """The held-out calibration of ``action``'s uplift (1: none measured)."""
        return self.uplift_scale[action] if self.uplift_scale else 1.0

    def harm(self, action: int, features: Floats) -> Floats:
        """Extra chance of an unsubscribe caused by ``action``, per account (0 unlearned)."""
        if self.harm_model is None:
            return np.zeros(len(features))
        return self.harm_model.harm(action, features)

    @property
    def version(self) -> str:
        """A content hash: the same model always has the same version."""
        digest = hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode())
        return ("m-" if self.learned else "prior-") + digest.hexdigest()[:12]

    @property
    def learned(self) -> bool:
        """Whether any history was learned from (purchases or harm)."""
        return self._fitted or self.harm_model is not None

    @property
    def _fitted(self) -> bool:
        return self.coefs.size > 0

    def weight(self, action: int) -> float:
        """How much the learned uplift of ``action`` counts against its prior."""
        if not self._fitted:
            return 0.0
        n = self.logged[action]
        return n / (n + PRIOR_STRENGTH)

    def base_rate(self, features: Floats, interest: Floats) -> Floats:
        """P(buy | no action): accounts × products."""
        if not self._fitted:
            return DAY_ONE_BASE_RATE * (1.0 + 2.0 * _interest_factor(interest))
        logit = self._base_logit(self.coefs.mean(axis=0), features, interest)
        return np.asarray(expit(logit))

    def uplift(
        self,
        action: int,
        features: Floats,
        interest: Floats,
        *,
        prior_shape: Floats | None = None,
    ) -> Floats:
        """Expected change in P(buy) from ``action``: accounts × products (blended).

        ``prior_shape`` is :func:`prior_shape` of ``interest``, when the caller scores
        several actions on the same accounts and computes it once.
        """
        shape = prior_shape_of(interest) if prior_shape is None else prior_shape
        prior = self.prior_uplift[action] * shape
        w = self.weight(action)
        if w == 0.0:
            return prior * self.uplift_factor(action)
        theta = self.coefs.mean(axis=0)
        learned = self._uplift(theta, action, features, interest)
        return (w * learned + (1.0 - w) * prior) * self.uplift_factor(action)

    def uplift_sd(self, action: int, features: Floats, interest: Floats, products: Ints) -> Floats:
        """Standard deviation of the blended uplift, for rows of (account, one product)."""
        z = interest[np.arange(len(products)), products] if interest.ndim == 2 else interest
        prior = self.prior_uplift[action] * (0.25 + 0.75 * _interest_factor(z))
        w = self.weight(action)
        if w == 0.0:
            return prior * self.uplift_factor(action)
        draws = np.stack(
            [self._uplift_rows(theta, action, features, z, products) for theta in self.coefs]
        )
        learned_sd = draws.std(axis=0, ddof=1) if len(draws) > 1 else np.zeros(len(z))
        spread: Floats = np.sqrt((w * learned_sd) ** 2 + ((1.0 - w) * prior) ** 2)
        return spread * self.uplift_factor(action)

    def predict_rows(self, rows: TrainingRows) -> Floats:
        """P(buy the row's product within the window | the row's motion), per stacked row,
        as the engine values moves: the base rate plus the blended, calibrated uplift."""
        base, uplift = self.predict_parts(rows)
        scales = np.array([*(self.uplift_factor(k) for k in range(len(self.actions))), 0.0])
        clipped: Floats = np.clip(base + scales[rows.motion] * uplift, 1e-6, 1.0 - 1e-6)
        return clipped

    def predict_parts(self, rows: TrainingRows) -> tuple[Floats, Floats]:
        """Per stacked row: P(buy | no action) and the blended uplift of the row's motion
        before calibration (0 on rows without a motion)."""
        z, products, motion = rows.interest, rows.product, rows.motion
        if self._fitted:
            theta = self.coefs.mean(axis=0)
            base = np.asarray(expit(self._base_rows(theta, rows.features, z, products)))
        else:
            base = DAY_ONE_BASE_RATE * (1.0 + 2.0 * _interest_factor(z))
        uplift = np.zeros(len(z))
        shape = prior_shape_of(z)
        for k in range(len(self.actions)):
            at = np.flatnonzero(motion == k)
            if not len(at):
                continue
            prior = self.prior_uplift[k] * shape[at]
            w = self.weight(k)
            learned = (
                self._uplift_rows(theta, k, rows.features[at], z[at], products[at])
                if w > 0.0
                else prior
            )
            uplift[at] = w * learned + (1.0 - w) * prior
        return np.asarray(base, dtype=np.float64), uplift

    # -- the linear model ------------------------------------------------------------

    def _layout(self) -> tuple[int, int, int]:
        d, p = len(self.feature_names), len(self.product_ids)
        return d, p, 1 + d + 1 + p

    def _base_logit(self, theta: Floats, features: Floats, interest: Floats) -> Floats:
        d, _p, shared = self._layout()
        x = (features - self.mean) / self.scale
        account = theta[0] + x @ theta[1 : 1 + d]
        logit: Floats = account[:, None] + theta[1 + d] * interest + theta[2 + d : shared][None, :]
        return logit

    def _motion_terms(self, theta: Floats, action: int) -> tuple[float, Floats, float]:
        d, _p, shared = self._layout()
        start = shared + action * (d + 2)
        return float(theta[start]), theta[start + 1 : start + 1 + d], float(theta[start + 1 + d])

    def _uplift(self, theta: Floats, action: int, features: Floats, interest: Floats) -> Floats:
        base = self._base_logit(theta, features, interest)
        t, u, s = self._motion_terms(theta, action)
        x = (features - self.mean) / self.scale
        treated = base + (t + x @ u)[:, None] + s * interest
        return np.asarray(expit(treated) - expit(base))

    def _base_rows(self, theta: Floats, features: Floats, z: Floats, products: Ints) -> Floats:
        """Logit of P(buy | no action) for rows of (account, one product)."""
        d, _p, _shared = self._layout()
        x = (features - self.mean) / self.scale
        logit: Floats = theta[0] + x @ theta[1 : 1 + d] + theta[1 + d] * z + theta[2 + d + products]
        return logit

    def _uplift_rows(
        self, theta: Floats, action: int, features: Floats, z: Floats, products: Ints
    ) -> Floats:
        base = self._base_rows(theta, features, z, products)
        t, u, s = self._motion_terms(theta, action)
        x = (features - self.mean) / self.scale
        return np.asarray(expit(base + t + x @ u + s * z) - expit(base))

    # -- storage ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the model as plain JSON-able values."""
        return {
            "feature_names": list(self.feature_names),
            "product_ids": list(self.product_ids),
            "actions": list(self.actions),
            "prior_uplift": list(self.prior_uplift),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coefs": self.coefs.tolist(),
            "logged": list(self.logged),
            "rows": self.rows,
            "metrics": dict(self.metrics),
            "heterogeneous": list(self.heterogeneous),
            "harm": None if self.harm_model is None else self.harm_model.to_dict(),
            "uplift_scale": list(self.uplift_scale),
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ResponseModel:
        """Return the model :meth:`to_dict` wrote."""
        d = len(values["feature_names"])
        coefs = np.asarray(values["coefs"], dtype=np.float64)
        return cls(
            feature_names=tuple(values["feature_names"]),
            product_ids=tuple(values["product_ids"]),
            actions=tuple(values["actions"]),
            prior_uplift=tuple(float(v) for v in values["prior_uplift"]),
            mean=np.asarray(values["mean"], dtype=np.float64).reshape(d),
            scale=np.asarray(values["scale"], dtype=np.float64).reshape(d),
            coefs=coefs if coefs.size else np.zeros((0, 0)),
            logged=tuple(int(v) for v in values["logged"]),
            rows=int(values["rows"]),
            metrics={k: float(v) for k, v in values["metrics"].items()},
            heterogeneous=tuple(bool(v) for v in values.get("heterogeneous", ())),
            harm_model=HarmModel.from_dict(values["harm"]) if values.get("harm") else None,
            uplift_scale=tuple(float(v) for v in values.get("uplift_scale", ())),
        )


def prior_shape_of(interest: Floats) -> Floats:
    """How the prior uplift scales with interest: a quarter of it without, all of it with
    strong interest."""
    return 0.25 + 0.75 * _interest_factor(interest)


def _interest_factor(interest: Floats) -> Floats:
    """0 without interest, towards 1 with strong interest (interest is log(1 + score))."""
    return 1.0 - np.exp(-np.asarray(interest))


def _prior_uplift(playbook: Playbook, actions: Sequence[str]) -> tuple[float, ...]:
    found = []
    for name in actions:
        action = playbook.actions[name]
        prior = action.prior_uplift
        found.append(DEFAULT_PRIOR_UPLIFT[action.channel] if prior is None else prior)
    return tuple(found)


def prior_model(
    playbook: Playbook,
    feature_names: Sequence[str],
    product_ids: Sequence[str],
    actions: Sequence[str],
) -> ResponseModel:
    """Return the day-one model: the playbook's priors, nothing learned."""
    d = len(feature_names)
    return ResponseModel(
        feature_names=tuple(feature_names),
        product_ids=tuple(product_ids),
        actions=tuple(actions),
        prior_uplift=_prior_uplift(playbook, actions),
        mean=np.zeros(d),
        scale=np.ones(d),
        coefs=np.zeros((0, 0)),
        logged=tuple(0 for _ in actions),
    )


def fit_response_model(prior: ResponseModel, rows: TrainingRows, *, seed: int = 0) -> ResponseModel:
    """Fit the model on logged rows; the prior model when they cannot support a fit.

    A fit needs both outcomes (some bought, some not) among the rows; without, only the
    harm model may be learned.
    """
    n = len(rows.bought)
    positives = float(rows.bought.sum())
    if n == 0 or positives == 0 or positives == n:
        harm = _harm_model(prior, rows)
        if harm is None:
            return prior
        metrics = {"harm.unsubscribes": float(harm.unsubscribes)}
        return replace(prior, harm_model=harm, rows=n, metrics=metrics)
    mean = rows.features.mean(axis=0)
    scale = rows.features.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    design = _design(prior, rows, mean, scale)
    tests = _heterogeneity_tests(prior, rows, design, seed)
    columns = _motion_columns(prior)
    keep = np.ones(design.shape[1], dtype=bool)
    for test, detail in zip(tests, columns, strict=True):
        if not test.learned_wins:
            keep &= ~detail
    design = design * keep
    rng = np.random.default_rng(seed)
    coefs = []
    for b in range(_BOOTSTRAPS):
        pick = np.arange(n) if b == 0 else rng.integers(0, n, n)
        if rows.bought[pick].min() == rows.bought[pick].max():
            continue
        coefs.append(_fit_logistic(design[pick], rows.bought[pick]))
    logged = tuple(int((rows.motion == k).sum()) for k in range(len(prior.actions)))
    fitted = ResponseModel(
        feature_names=prior.feature_names,
        product_ids=prior.product_ids,
        actions=prior.actions,
        prior_uplift=prior.prior_uplift,
        mean=mean,
        scale=scale,
        coefs=np.stack(coefs),
        logged=logged,
        rows=n,
        heterogeneous=tuple(t.learned_wins for t in tests),
        harm_model=_harm_model(prior, rows),
    )
    return _with_metrics(fitted, design, rows.bought, tests)


def _harm_model(model: ResponseModel, rows: TrainingRows) -> HarmModel | None:
    if rows.unsubscribed is None:
        return None
    at = rows.decision_row if rows.decision_row is not None else np.ones(len(rows.bought), bool)
    return fit_harm_model(rows.features[at], rows.motion[at], rows.unsubscribed[at], model.actions)


def _fit_logistic(design: Floats, bought: Floats) -> Floats:
    fit = LogisticRegression(C=_C, max_iter=500).fit(design, bought)
    theta: Floats = np.concatenate([fit.intercept_, fit.coef_[0]])
    return theta


def _motion_columns(model: ResponseModel) -> list[Bools]:
    """Per action, the design columns (no intercept) of its account-level terms."""
    segments = [i for i, name in enumerate(model.feature_names) if name.startswith("segment_")]
    found = motion_columns(
        features=len(model.feature_names),
        products=len(model.product_ids),
        actions=len(model.actions),
        segment_features=segments,
    )
    return [detail for _block, detail in found]


def _heterogeneity_tests(
    model: ResponseModel, rows: TrainingRows, design: Floats, seed: int
) -> list[HeterogeneityTest]:
    """Cross-fitted comparison per motion, on every treated row and a sample of the rest."""
    n = len(rows.bought)
    groups = rows.group if rows.group is not None else np.arange(n)
    treated = np.flatnonzero(rows.motion >= 0)
    control = np.flatnonzero(rows.motion < 0)
    room = max(_MAX_COMPARED_ROWS - len(treated), 0)
    if len(control) > room:
        control = np.random.default_rng(seed).choice(control, room, replace=False)
    at = np.sort(np.concatenate([treated, control]))
    return compare_heterogeneity(
        design[at],
        rows.bought[at],
        rows.motion[at],
        groups[at],
        model.actions,
        _motion_columns(model),
        _fit_logistic,
        seed=seed,
    )


def _design(model: ResponseModel, rows: TrainingRows, mean: Floats, scale: Floats) -> Floats:
    """Columns after the intercept: x, z, product one-hot, then per action t, u·x, s·z."""
    x = (rows.features - mean) / scale
    n, d = x.shape
    p, k = len(model.product_ids), len(model.actions)
    products = np.zeros((n, p))
    products[np.arange(n), rows.product] = 1.0
    blocks = [x, rows.interest[:, None], products]
    for action in range(k):
        on = (rows.motion == action).astype(np.float64)[:, None]
        blocks += [on, on * x, on * rows.interest[:, None]]
    design = np.hstack(blocks)
    assert design.shape[1] == d + 1 + p + k * (d + 2)
    return design


def _with_metrics(
    model: ResponseModel, design: Floats, bought: Floats, tests: Sequence[HeterogeneityTest]
) -> ResponseModel:
    theta = model.coefs.mean(axis=0)
    predicted = np.clip(expit(theta[0] + design @ theta[1:]), 1e-9, 1 - 1e-9)
    log_loss = float(-np.mean(bought * np.log(predicted) + (1 - bought) * np.log(1 - predicted)))
    metrics = {
        "log_loss": log_loss,
        "brier": float(np.mean((predicted - bought) ** 2)),
        "mean_predicted": float(predicted.mean()),
        "mean_observed": float(bought.mean()),
    }
    if model.harm_model is not None:
        metrics["harm.unsubscribes"] = float(model.harm_model.unsubscribes)
    for test in tests:
        metrics[f"{test.action}.heterogeneity_gain"] = test.gain
        metrics[f"{test.action}.heterogeneity_low"] = test.low
        metrics[f"{test.action}.heterogeneity_high"] = test.high
        metrics[f"{test.action}.heterogeneous"] = float(test.learned_wins)
    return replace(model, metrics=metrics)
