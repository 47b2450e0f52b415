"""Scoring: expected value = uplift × value − cost − harm × the unsubscribe cost."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from nextmove.decisions.candidates import action_specs, catalog_of
from nextmove.decisions.context import ContextInputs, build_context
from nextmove.decisions.scoring import ModelScorer
from nextmove.learning.features import feature_names
from nextmove.learning.harm import HarmModel
from nextmove.learning.response import prior_model
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import Playbook
from nextmove.sim import SimConfig, generate

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"


def test_a_motion_that_drives_people_away_is_worth_less_by_what_that_costs() -> None:
    company = generate(SimConfig(seed=3, accounts=300))
    frames = company.frames()
    text = EXAMPLE.read_text(encoding="utf-8")
    example = load_playbook(text).playbook

    def costing(cost: float) -> Playbook:
        value = example.value.model_copy(update={"unsubscribe_cost": cost})
        return example.model_copy(update={"value": value})

    playbook, costly = costing(0.0), costing(1_000.0)
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
    d = len(names)
    # Only the first action harms: +2 on the logit of an unsubscribe (base 1%).
    coefs = np.zeros(1 + d + len(actions) * (d + 1))
    coefs[0] = np.log(0.01 / 0.99)
    coefs[1 + d] = 2.0
    harm = HarmModel(actions, np.zeros(d), np.ones(d), coefs, rows=100, unsubscribes=10)
    model = replace(prior_model(playbook, names, catalog.product_ids, actions), harm_model=harm)

    plain = ModelScorer(model).score(context, playbook, catalog, specs)
    charged = ModelScorer(model).score(context, costly, catalog, specs)
    extra = 1 / (1 + np.exp(-(coefs[0] + 2.0))) - 0.01  # ≈ 0.0646
    first, second = actions[0], actions[1]
    ok = ~np.isnan(plain.expected_value[first])
    assert ok.sum() > 50
    assert charged.expected_value[first][ok] == pytest.approx(
        plain.expected_value[first][ok] - 1_000.0 * extra
    )
    both = ~np.isnan(plain.expected_value[second])
    assert charged.expected_value[second][both] == pytest.approx(plain.expected_value[second][both])
