"""A small synthetic company (300 accounts, parquet) shared by the learning tests, and an
engine holding it under the example playbook with thresholds low enough to act often."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nextmove import Engine
from nextmove.sim import SimConfig, generate, write_company

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"


@pytest.fixture(scope="module")
def small_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("company")
    write_company(generate(SimConfig(seed=5, accounts=300)), folder, fmt="parquet")
    return folder


@pytest.fixture
def decider(engine: Engine, small_company: Path) -> Engine:
    """``engine`` with the small company and the example playbook at low thresholds."""
    engine.import_folder(small_company)
    playbook = EXAMPLE.read_text(encoding="utf-8")
    playbook = re.sub(r"min_expected_value: \d+", "min_expected_value: 1", playbook)
    engine.apply_playbook(
        re.sub(r"min_confidence: [\d.]+", "min_confidence: 0.2", playbook), message="acting often"
    )
    return engine
