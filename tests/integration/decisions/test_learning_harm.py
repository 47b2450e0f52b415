"""Learning from stored outcomes: unsubscribes after moves teach the harm model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from nextmove import Engine
from nextmove.domain import Outcome
from nextmove.sim import SimConfig, generate, write_company

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
AS_OF = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def harm_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("company")
    write_company(generate(SimConfig(seed=8, accounts=400)), folder, fmt="parquet")
    return folder


def test_unsubscribes_after_moves_are_learned_as_harm_and_charged(
    engine: Engine, harm_company: Path
) -> None:
    engine.import_folder(harm_company)
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "unsubscribe_cost: 400 " in text
    text = text.replace("unsubscribe_cost: 400 ", "unsubscribe_cost: 2000 ")
    engine.apply_playbook(text, message="an unsubscribe costs 2000")
    first = engine.decide(as_of=AS_OF).decisions
    emailed = first.filter(pl.col("action") == "digital_program")["account_id"].to_list()
    assert len(emailed) >= 12
    left = emailed[:12]
    engine.record_outcomes(
        Outcome(
            outcome_id=f"out-unsub-{i}",
            account_id=account_id,
            outcome_type="unsubscribe",
            occurred_at=AS_OF + timedelta(days=1),
        )
        for i, account_id in enumerate(left)
    )
    report = engine.learn(as_of=AS_OF + timedelta(days=3))
    assert report.learned
    assert report.metrics["harm.unsubscribes"] == len(left)
    # The next run charges email for the harm it now knows it does.
    again = engine.decide(as_of=AS_OF + timedelta(days=3)).decisions
    before = first.filter(pl.col("action") == "digital_program")["expected_value"].mean()
    after = again.filter(pl.col("action") == "digital_program")["expected_value"].mean()
    assert after is None or after < before  # type: ignore[operator]
