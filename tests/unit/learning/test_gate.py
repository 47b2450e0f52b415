"""The promotion gate: better predictions promote, worse or miscalibrated ones reject."""

from __future__ import annotations

import numpy as np
import pytest

from nextmove.learning.gate import PolicyValue, Verdict, compare_models, poisson_interval
from nextmove.learning.stats import ClusteredMean

ACTIONS = ("sales_outreach", "digital_program")


def _world(n: int = 6000, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """True probabilities, outcomes, motions (-1 none) and account groups."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.005, 0.2, n)
    motion = rng.choice([-1, 0, 1], n, p=[0.8, 0.1, 0.1])
    truth = np.where(motion == 0, np.minimum(truth + 0.1, 0.9), truth)
    bought = (rng.random(n) < truth).astype(float)
    groups = np.arange(n) // 3
    return truth, bought, motion, groups


def test_a_candidate_that_knows_the_truth_beats_a_flat_champion() -> None:
    truth, bought, motion, groups = _world()
    flat = np.full(len(truth), truth.mean())
    result = compare_models(
        truth, flat, bought, exposure=np.ones(len(truth)), motion=motion, groups=groups,
        actions=ACTIONS,
    )  # fmt: skip
    assert result.verdict is Verdict.PROMOTE
    assert result.difference.high < 0
    assert result.log_loss_candidate < result.log_loss_champion
    # The other way round the flat model is rejected: it predicts worse with confidence.
    reverse = compare_models(
        flat, truth, bought, exposure=np.ones(len(truth)), motion=motion, groups=groups,
        actions=ACTIONS,
    )  # fmt: skip
    assert reverse.verdict is Verdict.REJECT
    assert reverse.reasons[0].startswith("predicts worse")


def test_an_overstated_uplift_is_rejected_as_miscalibrated_on_its_motion() -> None:
    truth, bought, motion, groups = _world()
    inflated = np.where(motion == 0, np.minimum(truth * 1.8, 0.99), truth)
    result = compare_models(
        inflated, truth, bought, exposure=np.ones(len(truth)), motion=motion, groups=groups,
        actions=ACTIONS,
    )  # fmt: skip
    assert result.verdict is Verdict.REJECT
    sales = next(c for c in result.calibration if c.motion == "sales_outreach")
    assert sales.candidate_off and not sales.champion_off
    assert sales.expected_candidate > sales.high
    assert any("miscalibrated on sales_outreach" in r for r in result.reasons)


def test_two_equally_good_models_are_inconclusive() -> None:
    truth, bought, motion, groups = _world()
    nudged = np.clip(truth * 1.01, 0, 1)
    result = compare_models(
        nudged, truth, bought, exposure=np.ones(len(truth)), motion=motion, groups=groups,
        actions=ACTIONS,
    )  # fmt: skip
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.difference.low < 0 < result.difference.high


def test_too_little_held_out_data_decides_nothing() -> None:
    truth, bought, motion, groups = _world(n=150)
    result = compare_models(
        truth, np.full(150, 0.5), bought, exposure=np.ones(150), motion=motion, groups=groups,
        actions=ACTIONS,
    )  # fmt: skip
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "too little held-out data" in result.reasons[0]


def test_rows_seen_for_part_of_their_window_are_expected_to_have_bought_less() -> None:
    truth, _bought, motion, groups = _world()
    rng = np.random.default_rng(9)
    exposure = rng.uniform(0.1, 1.0, len(truth))
    seen = 1 - (1 - truth) ** exposure
    bought = (rng.random(len(truth)) < seen).astype(float)
    result = compare_models(
        truth, truth * 0.5, bought, exposure=exposure, motion=motion, groups=groups,
        actions=ACTIONS,
    )  # fmt: skip
    none = next(c for c in result.calibration if c.motion == "no_action")
    assert none.low <= none.expected_candidate <= none.high  # exposure-adjusted: calibrated
    assert result.verdict is Verdict.PROMOTE


def _value(mean: float, low: float, high: float, logged: int = 90) -> PolicyValue:
    return PolicyValue(
        decisions=4000,
        differing=600,
        candidate_logged=logged,
        champion_logged=500,
        difference=ClusteredMean(4000, mean, low, high),
    )


def test_decisions_worth_less_with_confidence_reject_an_otherwise_equal_model() -> None:
    truth, bought, motion, groups = _world()
    nudged = np.clip(truth * 1.01, 0, 1)
    arguments = {
        "exposure": np.ones(len(truth)), "motion": motion, "groups": groups, "actions": ACTIONS
    }  # fmt: skip
    worse = compare_models(nudged, truth, bought, value=_value(-12.0, -20.0, -4.0), **arguments)
    assert worse.verdict is Verdict.REJECT
    assert any("would have brought less" in r and "600 of 4000" in r for r in worse.reasons)
    better = compare_models(nudged, truth, bought, value=_value(12.0, 4.0, 20.0), **arguments)
    assert better.verdict is Verdict.PROMOTE
    assert better.reasons[0].startswith("its decisions would have brought more")
    unsure = compare_models(nudged, truth, bought, value=_value(1.0, -5.0, 7.0), **arguments)
    assert unsure.verdict is Verdict.INCONCLUSIVE
    assert any("value of its decisions" in r for r in unsure.reasons)
    # Predicting better with confidence does not save decisions that are worth less.
    flat = np.full(len(truth), truth.mean())
    ranked_worse = compare_models(truth, flat, bought, value=_value(-9, -15, -3), **arguments)
    assert ranked_worse.verdict is Verdict.REJECT
    assert ranked_worse.to_dict()["value"]["difference"]["high"] == -3
    # Resting on a handful of logged choices of the candidate, the value is not judged.
    few = compare_models(nudged, truth, bought, value=_value(-12, -20, -4, logged=29), **arguments)
    assert few.verdict is Verdict.INCONCLUSIVE
    assert any("not judged: fewer than 30" in r for r in few.reasons)


def test_the_result_is_plain_json() -> None:
    truth, bought, motion, groups = _world(n=100)
    values = compare_models(
        truth, truth, bought, exposure=np.ones(100), motion=motion, groups=groups,
        actions=ACTIONS,
    ).to_dict()  # fmt: skip
    assert values["verdict"] == "inconclusive"
    assert {c["motion"] for c in values["calibration"]} <= {"no_action", *ACTIONS}


@pytest.mark.parametrize(
    ("count", "low", "high"), [(0, 0.0, 3.6889), (1, 0.0253, 5.5716), (10, 4.7954, 18.3904)]
)
def test_poisson_interval_matches_the_exact_tables(count: int, low: float, high: float) -> None:
    found = poisson_interval(count)
    assert found == pytest.approx((low, high), abs=1e-3)
