"""Autonomy overrides match a few candidates in Python exactly as polars matches many:
segments, value bounds, NaN (above every number), null (neither above nor below)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import polars as pl
import pytest

from nextmove.governance import autonomy
from nextmove.governance.autonomy import autonomy_levels
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import AutonomyLevel, Playbook

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
AMOUNTS = [None, math.nan, -1.0, 0.0, 19_999.99, 20_000.0, 20_000.01, 1e9, math.inf]


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    text = EXAMPLE.read_text(encoding="utf-8")
    # A lower bound too, so both bounds meet NaN and null.
    text = text.replace(
        "{segments: [mid], max_value: 20000, level: recommend}",
        "{segments: [mid], max_value: 20000, level: recommend}\n"
        "        - {min_value: 50000, level: shadow}",
    )
    return load_playbook(text).playbook


def _candidates(rows: int, seed: int) -> pl.DataFrame:
    pick = random.Random(seed)
    return pl.DataFrame(
        {
            "action": [pick.choice(["sales_outreach", "digital_program"]) for _ in range(rows)],
            "segment": [pick.choice(["smb", "mid", "ent", None]) for _ in range(rows)],
            "expected_value": [pick.choice(AMOUNTS) for _ in range(rows)],
        },
        schema={"action": pl.String, "segment": pl.String, "expected_value": pl.Float64},
    )


@pytest.mark.parametrize("seed", range(4))
def test_a_few_candidates_get_the_levels_many_would(
    playbook: Playbook, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    candidates = _candidates(300, seed)
    demoted = {"digital_program": AutonomyLevel.APPROVE} if seed % 2 else {}
    few = autonomy_levels(playbook, candidates, demoted)
    monkeypatch.setattr(autonomy, "_FEW", -1)
    many = autonomy_levels(playbook, candidates, demoted)
    assert few.equals(many)
    # The overrides and the declared levels all show up (a demotion caps them).
    assert few.n_unique() >= (2 if demoted else 3)
