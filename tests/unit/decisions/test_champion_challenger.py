"""Champion and challenger: each account is scored by its own model, stably."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from nextmove.decisions.candidates import action_specs, catalog_of
from nextmove.decisions.challenger import ChampionChallenger, challenger_arm
from nextmove.decisions.context import ContextInputs, build_context
from nextmove.decisions.scoring import ModelScorer
from nextmove.learning.features import feature_names
from nextmove.learning.response import prior_model
from nextmove.playbook.loader import load_playbook
from nextmove.sim import SimConfig, generate

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"


def test_the_arm_is_a_stable_share_drawn_anew_for_each_challenger() -> None:
    ids = pl.Series([f"acct-{i:05d}" for i in range(20_000)])
    arm = challenger_arm(ids, "m-aaaa", 0.2)
    assert arm.mean() == pytest.approx(0.2, abs=0.01)
    assert (challenger_arm(ids, "m-aaaa", 0.2) == arm).all()
    assert (challenger_arm(ids[::-1], "m-aaaa", 0.2) == arm[::-1]).all()
    other = challenger_arm(ids, "m-bbbb", 0.2)
    assert (arm & other).mean() == pytest.approx(0.04, abs=0.01)  # independent draws
    assert not challenger_arm(ids, "m-aaaa", 0.0).any()


def test_each_account_gets_its_own_models_scores() -> None:
    company = generate(SimConfig(seed=3, accounts=400))
    frames = company.frames()
    playbook = load_playbook(EXAMPLE.read_text(encoding="utf-8")).playbook
    kinds = ("accounts", "contacts", "products", "holdings", "opportunities", "signals")
    context = build_context(
        ContextInputs(**{k: frames[k] for k in kinds}),
        playbook,
        datetime(2026, 11, 22, 12, tzinfo=UTC),
    )
    catalog = catalog_of(frames["products"])
    specs = action_specs(playbook, catalog)
    actions = tuple(s.name for s in specs)
    names = feature_names(playbook)
    champion = prior_model(playbook, names, catalog.product_ids, actions)
    bolder = champion.__class__(
        **{**champion.__dict__, "prior_uplift": tuple(3 * u for u in champion.prior_uplift)}
    )
    split = ChampionChallenger(champion, bolder, 0.3, "m-bold")
    ids = context.frame["account_id"]
    arm = split.arm(ids)
    assert 0.2 < arm.mean() < 0.4
    mixed = split.score(context, playbook, catalog, specs)
    alone = ModelScorer(champion).score(context, playbook, catalog, specs)
    theirs = ModelScorer(bolder).score(context, playbook, catalog, specs)
    name = "sales_outreach"
    expected = np.where(arm, theirs.expected_value[name], alone.expected_value[name])
    np.testing.assert_array_equal(mixed.expected_value[name], expected)
    assert mixed.version == champion.version
    assert split.versions(ids).to_list() == [
        "m-bold" if a else champion.version for a in arm.tolist()
    ]
    assert mixed.spread is not None and theirs.spread is not None and alone.spread is not None
    rows = np.arange(len(ids))
    products = np.zeros(len(ids), dtype=np.int64)
    np.testing.assert_allclose(
        mixed.spread(0, rows, products),
        np.where(arm, theirs.spread(0, rows, products), alone.spread(0, rows, products)),
    )
