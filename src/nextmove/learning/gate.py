"""The promotion gate: does a newly fitted model predict better than the champion?

A model is judged on decisions it has not learned from. :func:`compare_models` takes two
models' predictions of the same held-out rows (logged decisions of the newest days, with
what followed them) and compares them two ways:

*Prediction.* The mean log loss per row, candidate minus champion, with a 95% interval
clustered by account. An interval below zero: the candidate predicts better with
confidence; above zero: worse with confidence.

*Calibration.* Per motion (doing nothing included), the purchases the rows saw against
those each model expected. A model is miscalibrated on a motion when its expectation lies
outside the exact Poisson 95% interval of the count observed. Overstated uplift shows here:
a model that expects 120 purchases after sales moves that brought 64 would value marginal
sales moves too highly.

Held-out rows may not have seen their whole attribution window yet; a row observed for a
share ``e`` of it is expected to have bought with ``1 − (1 − p)^e`` (a constant hazard),
the same for both models.

*Value.* What each model's decisions would have brought on the held-out days, estimated
off-policy from the logged decisions and their propensities (doubly robust, see
:func:`nextmove.measurement.offpolicy.dr_difference_terms`): per decision, candidate minus
champion, with a 95% interval clustered by account. A model can predict purchases a
little better and still rank the marginal moves worse; this is where that shows. The
candidate's side rests on the logged decisions where exploration happened to make its
choice, each weighing 1 / its propensity; with fewer than ``MIN_VALUE_MATCHES`` of them a
few rare purchases would decide the estimate, so it is reported but not judged.

The verdict: ``reject`` when the candidate predicts worse with confidence, is
miscalibrated on a motion where the champion is not, or its decisions would have brought
less with confidence; ``promote`` when it predicts better or would have brought more with
confidence and is not rejected; otherwise ``inconclusive``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from nextmove.learning.stats import ClusteredMean, clustered_mean

__all__ = [
    "MIN_HELD_OUT_PURCHASES",
    "MIN_HELD_OUT_ROWS",
    "MIN_VALUE_MATCHES",
    "Calibration",
    "GateResult",
    "PolicyValue",
    "Verdict",
    "compare_models",
    "poisson_interval",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

MIN_HELD_OUT_ROWS = 200
MIN_HELD_OUT_PURCHASES = 5
"""Fewer held-out rows or purchases than these cannot tell two models apart."""
MIN_VALUE_MATCHES = 30
"""The candidate's choices among the logged decisions below which its value is not judged."""
MIN_CALIBRATION_COUNT = 5.0
"""A motion's calibration is judged when it saw or was expected this many purchases."""


class Verdict(StrEnum):
    PROMOTE = "promote"
    REJECT = "reject"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Calibration:
    """One motion's held-out purchases against what each model expected."""

    motion: str
    rows: int
    observed: float
    expected_candidate: float
    expected_champion: float
    low: float
    """The exact Poisson 95% interval of the observed count."""
    high: float

    @property
    def judged(self) -> bool:
        counts = (self.observed, self.expected_candidate, self.expected_champion)
        return max(counts) >= MIN_CALIBRATION_COUNT

    @property
    def candidate_off(self) -> bool:
        return self.judged and not self.low <= self.expected_candidate <= self.high

    @property
    def champion_off(self) -> bool:
        return self.judged and not self.low <= self.expected_champion <= self.high


@dataclass(frozen=True)
class PolicyValue:
    """What the candidate's decisions would have brought against the champion's, per
    held-out decision (off-policy, doubly robust)."""

    decisions: int
    differing: int
    """Decisions where the two models chose different actions (the rest weigh nothing)."""
    candidate_logged: int
    """Differing decisions whose logged action was the candidate's choice: what its side
    of the estimate rests on (exploration made them; each weighs 1 / its propensity)."""
    champion_logged: int
    """Differing decisions whose logged action was the champion's choice."""
    difference: ClusteredMean
    """Value per decision, candidate − champion (above zero: the candidate brings more)."""

    @property
    def judged(self) -> bool:
        """Enough of the candidate's own choices were logged for the interval to hold:
        with fewer, a handful of rare, heavily weighted purchases decide the estimate."""
        return self.candidate_logged >= MIN_VALUE_MATCHES

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["difference"] = {k: _finite(v) for k, v in asdict(self.difference).items()}
        return values


@dataclass(frozen=True)
class GateResult:
    """The evidence of a gate and its verdict."""

    verdict: Verdict
    reasons: tuple[str, ...]
    rows: int
    purchases: float
    log_loss_candidate: float
    log_loss_champion: float
    difference: ClusteredMean
    """Log loss per row, candidate − champion (below zero: the candidate is better)."""
    calibration: tuple[Calibration, ...]
    value: PolicyValue | None = None
    """None when the decisions could not be replayed (no value was estimated)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (infinite bounds as None)."""
        values = asdict(self)
        values["verdict"] = self.verdict.value
        values["reasons"] = list(self.reasons)
        values["difference"] = {k: _finite(v) for k, v in asdict(self.difference).items()}
        values["calibration"] = [asdict(c) for c in self.calibration]
        values["value"] = None if self.value is None else self.value.to_dict()
        return values


def compare_models(
    candidate: Floats,
    champion: Floats,
    bought: Floats,
    *,
    exposure: Floats,
    motion: Ints,
    groups: Ints,
    actions: Sequence[str],
    value: PolicyValue | None = None,
) -> GateResult:
    """Compare two models' predictions (P(buy) over a whole window) of the same rows, and
    the value of their decisions when it was estimated."""
    n = len(bought)
    purchases = float(bought.sum())
    p_candidate = _observed_share(candidate, exposure)
    p_champion = _observed_share(champion, exposure)
    loss_candidate = _log_loss(p_candidate, bought)
    loss_champion = _log_loss(p_champion, bought)
    difference = clustered_mean(loss_candidate - loss_champion, groups)
    calibration = tuple(
        _calibration(name, motion == k, bought, p_candidate, p_champion)
        for k, name in [(-1, "no_action"), *enumerate(actions)]
        if np.any(motion == k)
    )
    verdict, reasons = _verdict(n, purchases, difference, calibration, value)
    return GateResult(
        verdict=verdict,
        reasons=reasons,
        rows=n,
        purchases=purchases,
        log_loss_candidate=float(loss_candidate.mean()) if n else float("nan"),
        log_loss_champion=float(loss_champion.mean()) if n else float("nan"),
        difference=difference,
        calibration=calibration,
        value=value,
    )


def poisson_interval(count: float, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Garwood) interval of a Poisson mean after observing ``count`` events."""
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if count <= 0 else float(chi2.ppf(tail, 2.0 * count) / 2.0)
    high = float(chi2.ppf(1.0 - tail, 2.0 * count + 2.0) / 2.0)
    return low, high


def _verdict(
    rows: int,
    purchases: float,
    difference: ClusteredMean,
    calibration: Sequence[Calibration],
    value: PolicyValue | None,
) -> tuple[Verdict, tuple[str, ...]]:
    if rows < MIN_HELD_OUT_ROWS or purchases < MIN_HELD_OUT_PURCHASES:
        return Verdict.INCONCLUSIVE, (
            f"too little held-out data to compare: {rows} rows, {purchases:.0f} purchases "
            f"(at least {MIN_HELD_OUT_ROWS} and {MIN_HELD_OUT_PURCHASES} needed)",
        )
    reasons: list[str] = []
    for c in calibration:
        if c.candidate_off and not c.champion_off:
            reasons.append(
                f"miscalibrated on {c.motion}: expects {c.expected_candidate:.1f} purchases "
                f"where {c.observed:.0f} were seen (interval {c.low:.1f}–{c.high:.1f}); "
                f"the champion expects {c.expected_champion:.1f}"
            )
    loss = (
        f"log loss per held-out row {difference.mean:+.5f} against the champion "
        f"(95% interval {difference.low:+.5f} … {difference.high:+.5f}, {rows} rows)"
    )
    if difference.low > 0:
        reasons.insert(0, f"predicts worse: {loss}")
    worth = _worth(value)
    judged = value if value is not None and value.judged else None
    if judged is not None and judged.difference.high < 0:
        reasons.append(f"its decisions would have brought less: {worth}")
    if reasons:
        return Verdict.REJECT, tuple(reasons)
    if difference.high < 0:
        return Verdict.PROMOTE, (f"predicts better with confidence: {loss}", *_also(worth))
    if judged is not None and judged.difference.low > 0:
        return Verdict.PROMOTE, (f"its decisions would have brought more: {worth}", loss)
    return Verdict.INCONCLUSIVE, (f"not better with confidence: {loss}", *_also(worth))


def _worth(value: PolicyValue | None) -> str:
    if value is None:
        return ""
    d = value.difference
    found = (
        f"{d.mean:+,.2f} per held-out decision against the champion's "
        f"(95% interval {d.low:+,.2f} … {d.high:+,.2f}; off-policy, doubly robust; "
        f"the models differ on {value.differing} of {value.decisions} decisions, "
        f"{value.candidate_logged} of them logged as the candidate chose)"
    )
    if value.judged:
        return found
    return f"{found}; not judged: fewer than {MIN_VALUE_MATCHES} of its choices were logged"


def _also(worth: str) -> tuple[str, ...]:
    return (f"value of its decisions {worth}",) if worth else ()


def _calibration(
    name: str, at: npt.NDArray[np.bool_], bought: Floats, candidate: Floats, champion: Floats
) -> Calibration:
    observed = float(bought[at].sum())
    low, high = poisson_interval(observed)
    return Calibration(
        motion=name,
        rows=int(at.sum()),
        observed=observed,
        expected_candidate=float(candidate[at].sum()),
        expected_champion=float(champion[at].sum()),
        low=low,
        high=high,
    )


def _observed_share(probability: Floats, exposure: Floats) -> Floats:
    """P(bought within the observed part of the window), constant hazard."""
    share: Floats = 1.0 - np.power(1.0 - probability, np.clip(exposure, 0.0, 1.0))
    return np.clip(share, 1e-9, 1.0 - 1e-9)


def _log_loss(p: Floats, bought: Floats) -> Floats:
    loss: Floats = -(bought * np.log(p) + (1.0 - bought) * np.log(1.0 - p))
    return loss


def _finite(value: Any) -> Any:
    return value if not isinstance(value, float) or np.isfinite(value) else None
