"""Lift, off-policy estimators and drift detectors: fixed seeds, stated tolerances."""

from __future__ import annotations

import numpy as np
import pytest

from nextmove.learning.stats import clustered_mean
from nextmove.measurement.drift import bernoulli_cusum, page_hinkley, psi, psi_numeric
from nextmove.measurement.lift import difference_in_means
from nextmove.measurement.offpolicy import (
    action_means,
    dr_difference_terms,
    effective_sample_size,
    off_policy,
)


def test_difference_in_means_matches_welch_by_hand() -> None:
    treated, control = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 1.0, 2.0])
    found = difference_in_means(treated, control)
    se = np.sqrt(np.var(treated, ddof=1) / 4 + np.var(control, ddof=1) / 3)
    assert found.value == pytest.approx(1.5)
    assert found.std_error == pytest.approx(se)
    assert found.high - found.value == pytest.approx(1.959964 * se, rel=1e-5)


def test_difference_in_means_of_empty_or_single_groups() -> None:
    assert np.isnan(difference_in_means(np.array([]), np.array([1.0])).value)
    assert difference_in_means(np.array([2.0]), np.array([1.0, 1.0])).std_error == np.inf


def test_lift_interval_covers_the_true_difference_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(400):
        treated = rng.exponential(3.0, 300) * (rng.random(300) < 0.2)
        control = rng.exponential(3.0, 60) * (rng.random(60) < 0.1)
        covered += difference_in_means(treated, control).covers(0.6 - 0.3)
    assert 0.91 <= covered / 400 <= 0.98


def test_bootstrap_interval_is_seeded_and_close_to_the_normal_one() -> None:
    rng = np.random.default_rng(2)
    treated, control = rng.normal(1, 1, 500), rng.normal(0, 1, 500)
    first = difference_in_means(treated, control, bootstrap=500, seed=3)
    again = difference_in_means(treated, control, bootstrap=500, seed=3)
    normal = difference_in_means(treated, control)
    assert (first.low, first.high) == (again.low, again.high)
    assert first.low == pytest.approx(normal.low, abs=0.03)


def _logged(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Three actions logged uniformly at random; action k pays Bernoulli(0.1·(k+1))·10."""
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, 3, n)
    propensities = np.full(n, 1 / 3)
    rewards = (rng.random(n) < 0.1 * (actions + 1)) * 10.0
    return rewards, propensities, actions, np.eye(3)[np.full(n, 2)]


def test_off_policy_estimates_recover_the_value_of_always_the_best_action() -> None:
    rewards, propensities, actions, target = _logged(6000, 4)
    found = {e.method: e for e in off_policy(rewards, propensities, actions, target)}
    for method in ("ips", "snips", "dr"):
        assert found[method].estimate.covers(3.0), method
    assert found["dr"].estimate.std_error < found["ips"].estimate.std_error
    assert found["ips"].effective_sample_size == pytest.approx(6000 / 3, rel=0.05)


def test_off_policy_intervals_cover_the_truth_about_95_percent_of_the_time() -> None:
    covered = {"ips": 0, "snips": 0, "dr": 0}
    for seed in range(200):
        rewards, propensities, actions, target = _logged(900, 100 + seed)
        for e in off_policy(rewards, propensities, actions, target):
            covered[e.method] += e.estimate.covers(3.0)
    for method, hits in covered.items():
        assert 0.90 <= hits / 200 <= 0.99, method


def test_the_doubly_robust_difference_of_two_policies_covers_the_truth() -> None:
    # Logged: action 0 unless exploring (30%, uniform), so p = 0.8 for 0 and 0.1 for 1, 2.
    # Action k pays Bernoulli(0.1·(k+1))·10 less a cost of k, and action 1 pays 0.5 more:
    # values 1.0, 1.5, 1.0. "Always 1" against "1 on the first quarter, else 0" brings
    # 0.5 more on three quarters of the decisions: 0.375 per decision.
    covered, zero_where_agreeing = 0, True
    for seed in range(120):
        rng = np.random.default_rng(500 + seed)
        n = 3000
        explore = rng.random(n) < 0.3
        logged = np.where(explore, rng.integers(0, 3, n), 0)
        propensity = np.where(logged == 0, 0.7 + 0.1, 0.1)
        bonus = np.where(logged == 1, 0.5, 0.0)
        rewards = (rng.random(n) < 0.1 * (logged + 1)) * 10.0 - logged + bonus
        first, second = np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        second[: n // 4] = 1  # the two agree on the first quarter
        terms = dr_difference_terms(rewards, propensity, logged, first, second, 3)
        zero_where_agreeing &= bool(np.all(terms[: n // 4] == 0.0))
        found = clustered_mean(terms, np.arange(n))
        covered += found.low <= 0.5 * 0.75 <= found.high
    assert zero_where_agreeing
    assert 0.88 <= covered / 120 <= 0.99


def test_effective_sample_size_and_action_means() -> None:
    assert effective_sample_size(np.ones(10)) == pytest.approx(10)
    assert effective_sample_size(np.array([1.0, 0, 0, 0])) == pytest.approx(1)
    assert effective_sample_size(np.zeros(3)) == 0
    means = action_means(np.array([1.0, 3.0, 5.0]), np.array([0, 0, 2]), 3)
    assert list(means) == [2.0, 0.0, 5.0]


def test_bernoulli_cusum_finds_a_halved_rate_soon_after_it_halves() -> None:
    rng = np.random.default_rng(5)
    trials = np.full(60, 400)
    rate = np.where(np.arange(60) < 30, 0.02, 0.01)
    successes = rng.binomial(trials, rate)
    found = bernoulli_cusum(successes, trials, p0=0.02)
    assert found.direction == "down"
    assert found.alarm_at is not None and 30 <= found.alarm_at <= 42
    assert found.change_at is not None and abs(found.change_at - 30) <= 5


def test_bernoulli_cusum_stays_quiet_without_a_change() -> None:
    false_alarms = 0
    for seed in range(50):
        rng = np.random.default_rng(seed)
        trials = np.full(60, 400)
        found = bernoulli_cusum(rng.binomial(trials, 0.02), trials, p0=0.02)
        false_alarms += found.alarm_at is not None
    assert false_alarms <= 3


def test_page_hinkley_detects_a_drop_in_a_series() -> None:
    rng = np.random.default_rng(6)
    series = np.concatenate([rng.normal(10, 1, 50), rng.normal(7, 1, 30)])
    found = page_hinkley(series, delta=0.5, threshold=15)
    assert found.direction == "down"
    assert found.alarm_at is not None and 50 <= found.alarm_at <= 60
    quiet = page_hinkley(rng.normal(10, 1, 80), delta=0.5, threshold=15)
    assert quiet.alarm_at is None


def test_psi_is_zero_for_equal_mixes_and_grows_with_the_shift() -> None:
    assert psi([10, 20, 30], [20, 40, 60]) == pytest.approx(0.0)
    small, large = psi([50, 50], [55, 45]), psi([50, 50], [90, 10])
    assert 0 < small < 0.1 < 0.25 < large
    assert np.isfinite(psi([10, 0], [0, 10]))
    rng = np.random.default_rng(7)
    reference = rng.normal(0, 1, 5000)
    assert psi_numeric(reference, rng.normal(0, 1, 5000)) < 0.02
    assert psi_numeric(reference, rng.normal(1, 1, 5000)) > 0.25
