"""The response model: priors on day one, learned uplift with data, shrinkage in between."""

from __future__ import annotations

import numpy as np
import pytest

from nextmove.learning.response import (
    PRIOR_STRENGTH,
    ResponseModel,
    TrainingRows,
    fit_response_model,
)
from nextmove.playbook.model import Channel


def prior(uplifts: tuple[float, ...] = (0.02, 0.02)) -> ResponseModel:
    return ResponseModel(
        feature_names=("f0", "f1"),
        product_ids=("p0", "p1"),
        actions=("helps", "does_nothing"),
        prior_uplift=uplifts,
        mean=np.zeros(2),
        scale=np.ones(2),
        coefs=np.zeros((0, 0)),
        logged=(0, 0),
    )


def simulate(n: int, seed: int) -> TrainingRows:
    """Base rate 5%; 'helps' adds 15 points for accounts with f0 > 0; 'does_nothing' none."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, 2))
    interest = rng.exponential(0.5, n)
    product = rng.integers(0, 2, n)
    motion = rng.integers(-1, 2, n)  # -1 no action, 0 helps, 1 does nothing
    chance = 0.05 + np.where((motion == 0) & (features[:, 0] > 0), 0.15, 0.0)
    bought = (rng.random(n) < chance).astype(np.float64)
    return TrainingRows(features, interest, product, motion, bought)


def test_day_one_is_the_prior_scaled_by_interest() -> None:
    model = prior((0.04, 0.01))
    features, interest = np.zeros((3, 2)), np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]])
    helps = model.uplift(0, features, interest)
    assert helps[0, 0] == pytest.approx(0.01)  # a quarter of the prior without interest
    assert helps[0, 0] < helps[1, 0] < helps[2, 0] <= 0.04
    sd = model.uplift_sd(0, features, interest, np.array([0, 0, 0]))
    assert sd == pytest.approx(helps[:, 0])  # as uncertain as the prior is large
    assert not model.learned and model.version.startswith("prior-")


def test_no_rows_or_one_outcome_only_keeps_the_prior() -> None:
    rows = simulate(500, seed=1)
    none = TrainingRows(rows.features, rows.interest, rows.product, rows.motion, rows.bought * 0)
    assert not fit_response_model(prior(), none).learned
    empty = TrainingRows(
        np.zeros((0, 2)), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    )
    assert not fit_response_model(prior(), empty).learned


def test_learning_finds_the_motion_that_works_and_where() -> None:
    model = fit_response_model(prior(), simulate(30_000, seed=2))
    assert model.learned and model.version.startswith("m-")
    assert model.weight(0) > 0.95  # thousands of logged decisions outweigh the prior
    features = np.array([[1.5, 0.0], [-1.5, 0.0]])
    interest = np.zeros((2, 2))
    helps = model.uplift(0, features, interest)[:, 0]
    idle = model.uplift(1, features, interest)[:, 0]
    assert helps[0] > 0.08  # true effect where f0 > 0: +0.15 (a linear logit blurs it)
    assert helps[0] > helps[1] + 0.05  # and far less where f0 < 0
    assert abs(idle[0]) < 0.03 and abs(idle[1]) < 0.03
    assert model.metrics["mean_predicted"] == pytest.approx(
        model.metrics["mean_observed"], abs=0.01
    )


def test_little_data_stays_close_to_the_prior() -> None:
    rows = simulate(60, seed=3)
    model = fit_response_model(prior((0.02, 0.02)), rows)
    n = int((rows.motion == 0).sum())
    assert model.weight(0) == pytest.approx(n / (n + PRIOR_STRENGTH))
    assert model.weight(0) < 0.1


def test_a_model_round_trips_through_its_stored_form() -> None:
    model = fit_response_model(prior(), simulate(5_000, seed=4))
    again = ResponseModel.from_dict(model.to_dict())
    assert again.version == model.version
    features, interest = np.random.default_rng(5).normal(size=(4, 2)), np.ones((4, 2))
    assert np.allclose(again.uplift(0, features, interest), model.uplift(0, features, interest))


def test_every_channel_has_a_default_prior() -> None:
    from nextmove.learning.response import DEFAULT_PRIOR_UPLIFT

    assert set(DEFAULT_PRIOR_UPLIFT) == set(Channel)


def test_account_level_uplift_is_kept_only_where_it_wins_on_held_out_rows() -> None:
    model = fit_response_model(prior(), simulate(30_000, seed=5))
    # 'helps' really differs by f0: its learned terms beat one uplift per segment.
    assert model.heterogeneous == (True, False)
    assert model.metrics["helps.heterogeneity_low"] > 0
    assert model.metrics["helps.heterogeneous"] == 1.0
    # 'does_nothing' has nothing to learn: it stays flat, whatever the features say.
    assert model.metrics["does_nothing.heterogeneity_low"] <= 0
    features = np.array([[2.0, -2.0], [-2.0, 2.0], [0.0, 0.0]])
    idle = model.uplift(1, features, np.zeros((3, 2)))[:, 0]
    assert np.ptp(idle) < 0.005


def test_flat_uplift_within_segments_gives_the_simple_policy() -> None:
    """Uplift depends only on the segment: the account-level terms must not be kept."""
    rng = np.random.default_rng(9)
    n = 30_000
    segment = rng.integers(0, 2, n)
    features = np.column_stack([segment == 0, segment == 1, rng.normal(size=n)]).astype(float)
    motion = rng.integers(-1, 1, n)
    chance = 0.05 + np.where(motion == 0, np.where(segment == 1, 0.10, 0.01), 0.0)
    rows = TrainingRows(
        features,
        rng.exponential(0.5, n),
        rng.integers(0, 2, n),
        motion,
        (rng.random(n) < chance).astype(np.float64),
        group=rng.integers(0, 5_000, n),
    )
    base = ResponseModel(
        feature_names=("segment_a", "segment_b", "noise"),
        product_ids=("p0", "p1"),
        actions=("call",),
        prior_uplift=(0.02,),
        mean=np.zeros(3),
        scale=np.ones(3),
        coefs=np.zeros((0, 0)),
        logged=(0,),
    )
    model = fit_response_model(base, rows)
    assert model.heterogeneous == (False,)
    low, high = model.metrics["call.heterogeneity_low"], model.metrics["call.heterogeneity_high"]
    assert low <= 0 <= high or high < 0
    a = np.array([[1.0, 0.0, x] for x in (-2.0, 0.0, 2.0)])
    b = np.array([[0.0, 1.0, x] for x in (-2.0, 0.0, 2.0)])
    in_a = model.uplift(0, a, np.zeros((3, 2)))[:, 0]
    in_b = model.uplift(0, b, np.zeros((3, 2)))[:, 0]
    assert np.ptp(in_a) < 0.01 and np.ptp(in_b) < 0.01  # the noise feature does not count
    assert in_b.mean() > in_a.mean() + 0.04  # the segments still differ


def test_the_harm_a_motion_does_is_learned_where_it_happens() -> None:
    rows = simulate(30_000, seed=6)
    rng = np.random.default_rng(6)
    # 'helps' makes a fifth of accounts with f1 > 0 unsubscribe; nothing else does harm.
    chance = 0.01 + np.where((rows.motion == 0) & (rows.features[:, 1] > 0), 0.2, 0.0)
    unsubscribed = (rng.random(len(chance)) < chance).astype(np.float64)
    with_harm = TrainingRows(
        rows.features, rows.interest, rows.product, rows.motion, rows.bought,
        unsubscribed=unsubscribed,
    )  # fmt: skip
    model = fit_response_model(prior(), with_harm)
    assert model.harm_model is not None
    features = np.array([[0.0, 1.5], [0.0, -1.5]])
    helps, idle = model.harm(0, features), model.harm(1, features)
    assert helps[0] > 0.1 and helps[0] > helps[1] + 0.08
    assert (idle < 0.02).all() and (idle >= 0).all()
    restored = ResponseModel.from_dict(model.to_dict())
    assert np.allclose(restored.harm(0, features), helps)
    assert model.metrics["harm.unsubscribes"] == unsubscribed.sum()


def test_no_unsubscribes_no_harm_model() -> None:
    rows = simulate(3_000, seed=7)
    quiet = TrainingRows(
        rows.features, rows.interest, rows.product, rows.motion, rows.bought,
        unsubscribed=np.zeros(len(rows.bought)),
    )  # fmt: skip
    model = fit_response_model(prior(), quiet)
    assert model.harm_model is None
    assert (model.harm(0, np.zeros((2, 2))) == 0).all()


@pytest.mark.parametrize("fitted", [False, True])
def test_row_predictions_are_the_base_rate_plus_the_blended_uplift(fitted: bool) -> None:
    rows = simulate(3000, seed=4)
    model = fit_response_model(prior(), rows, seed=0) if fitted else prior()
    assert model.learned is fitted
    predicted = model.predict_rows(rows)
    n = len(rows.bought)
    # The same numbers from the account × product methods the engine decides with.
    interest = np.zeros((n, 2))
    interest[np.arange(n), rows.product] = rows.interest
    base = model.base_rate(rows.features, interest)[np.arange(n), rows.product]
    expected = base.copy()
    for k in range(len(model.actions)):
        at = rows.motion == k
        gain = model.uplift(k, rows.features[at], interest[at])
        expected[at] += gain[np.arange(at.sum()), rows.product[at]]
    assert predicted == pytest.approx(np.clip(expected, 1e-6, 1 - 1e-6))
    if fitted:  # learned: the treated rows of 'helps' are predicted to buy more
        helps = (rows.motion == 0) & (rows.features[:, 0] > 0)
        assert predicted[helps].mean() > predicted[rows.motion == -1].mean() + 0.05
