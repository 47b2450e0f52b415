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
