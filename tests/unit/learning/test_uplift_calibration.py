"""Uplift calibration: the share of predicted uplift that came true, shrunk by doubt."""

from __future__ import annotations

import numpy as np
import pytest

from nextmove.learning.calibration import MAX_FACTOR, MIN_FACTOR, uplift_factors


def _rows(n: int, true_share: float, seed: int = 2) -> tuple[np.ndarray, ...]:
    """Base 3%; motion 0 predicted to add 10 points, of which ``true_share`` is real."""
    rng = np.random.default_rng(seed)
    motion = rng.choice([-1, 0], n, p=[0.5, 0.5])
    base = np.full(n, 0.03)
    uplift = np.where(motion == 0, 0.10, 0.0)
    truth = base + true_share * uplift
    bought = (rng.random(n) < truth).astype(float)
    return base, uplift, bought, motion


@pytest.mark.parametrize("true_share", [0.3, 1.0])
def test_the_factor_finds_how_much_of_the_uplift_came_true(true_share: float) -> None:
    base, uplift, bought, motion = _rows(40_000, true_share)
    (factor,) = uplift_factors(
        base, uplift, bought, exposure=np.ones(len(base)), motion=motion, actions=1
    )
    assert factor == pytest.approx(true_share, abs=0.08)


def test_doubt_shrinks_the_factor_toward_one() -> None:
    ones = np.ones
    few = _rows(60, 0.0)  # about 30 moves that should have brought 3 extra purchases
    (shrunk,) = uplift_factors(*few[:3], exposure=ones(60), motion=few[3], actions=1)
    assert 0.25 < shrunk < 1.0
    many = _rows(600, 0.0)  # about 300 moves that should have brought 30 and brought none
    (proven,) = uplift_factors(*many[:3], exposure=ones(600), motion=many[3], actions=1)
    assert proven == MIN_FACTOR
    base, uplift, bought, motion = many
    none = uplift_factors(base, uplift * 0, bought, exposure=ones(600), motion=motion, actions=2)
    assert none == (1.0, 1.0)  # no uplift predicted (and motion 1 never made): no factor


def test_a_base_rate_that_is_off_is_not_blamed_on_the_uplift() -> None:
    rng = np.random.default_rng(4)
    n = 60_000
    motion = rng.choice([-1, 0], n, p=[0.5, 0.5])
    base = np.full(n, 0.03)
    uplift = np.where(motion == 0, 0.05, 0.0)
    truth = 2 * base + uplift  # the base rate is twice what the model thinks
    bought = (rng.random(n) < truth).astype(float)
    (factor,) = uplift_factors(base, uplift, bought, exposure=np.ones(n), motion=motion, actions=1)
    assert factor == pytest.approx(1.0, abs=0.1)


def test_factors_stay_within_bounds_and_account_for_partial_windows() -> None:
    base, uplift, bought, motion = _rows(40_000, 3.0)
    (high,) = uplift_factors(
        base, uplift, bought, exposure=np.ones(len(base)), motion=motion, actions=1
    )
    assert high == MAX_FACTOR
    rng = np.random.default_rng(8)
    exposure = rng.uniform(0.2, 1.0, len(base))
    seen = 1 - (1 - (base + np.where(motion == 0, 0.0, 0.0))) ** exposure
    nothing = (rng.random(len(base)) < seen).astype(float)
    (low,) = uplift_factors(base, uplift, nothing, exposure=exposure, motion=motion, actions=1)
    assert low == pytest.approx(MIN_FACTOR, abs=0.05)
