"""Learning reads only the recent decisions: older answers would hold the model back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nextmove import Engine
from nextmove.decisions.service import TRAINING_WINDOW
from nextmove.sim import SimConfig, generate, write_company

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
AS_OF = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def window_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("company")
    write_company(generate(SimConfig(seed=4, accounts=150)), folder, fmt="parquet")
    return folder


def test_decisions_older_than_the_training_window_are_not_learned_from(
    engine: Engine, window_company: Path
) -> None:
    engine.import_folder(window_company)
    engine.apply_playbook(EXAMPLE, message="example rules")
    decided = engine.decide(as_of=AS_OF).decisions.height
    assert engine.learn(as_of=AS_OF + timedelta(days=2)).decisions == decided
    late = AS_OF + TRAINING_WINDOW + timedelta(days=1)
    assert engine.learn(as_of=late).decisions == 0
    engine.decide(as_of=late)
    assert engine.learn(as_of=late + timedelta(hours=1)).decisions == decided
