"""``nextmove learn`` and ``nextmove models``: the model registry from the shell."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path

import polars as pl
import pytest
from cli_support import nextmove

from nextmove import Engine
from nextmove.sim import SimAction, SimConfig, World, generate, write_company

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "examples" / "playbooks" / "b2b_saas.yaml"


def _evening(day: date) -> datetime:
    return datetime.combine(day, time(20), tzinfo=UTC)


@pytest.fixture
def stepped(tmp_path: Path) -> tuple[str, str]:
    """A SQLite database with eight days of decisions and outcomes; the next day."""
    company = generate(SimConfig(seed=6, accounts=300, history_days=20))
    manifest = write_company(company, tmp_path / "company", fmt="parquet")
    world = World(company)
    url = f"sqlite:///{tmp_path / 'nextmove.db'}"
    with Engine.open(url) as engine:
        engine.import_folder(manifest.parent)
        engine.apply_playbook(PLAYBOOK, message="rules")
        for _ in range(8):
            today = world.day
            engine.ingest(signals=world.signals_for_day())
            acting = engine.decide(as_of=_evening(today)).decisions
            acting = acting.filter(pl.col("action") != "no_action")
            engine.record_outcomes(
                world.step(
                    [
                        SimAction(account_id=a, motion=m, day=today, product_id=p)
                        for a, m, p in acting.select("account_id", "action", "product_id").rows()
                    ]
                )
            )
    return url, world.day.isoformat()


def test_learn_registers_a_champion_that_people_can_inspect_and_retire(
    stepped: tuple[str, str], tmp_path: Path
) -> None:
    url, today = stepped
    empty = nextmove(url, "models", "list", cwd=tmp_path)
    assert empty.returncode == 0, empty.stderr
    assert "no model is registered yet" in empty.stdout

    learned = nextmove(url, "learn", "--as-of", today, cwd=tmp_path)
    assert learned.returncode == 0, learned.stderr
    assert ": champion (" in learned.stdout
    assert "the first model learned" in learned.stdout
    version = learned.stdout.split("model ", 1)[1].split()[0]
    assert version.startswith("m-")

    listed = nextmove(url, "models", "list", "--status", "champion", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert version in listed.stdout and "champion" in listed.stdout

    shown = nextmove(url, "models", "show", version, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["status"] == "champion" and record["rows"] > 0
    assert record["evaluation"]["reasons"][0].startswith("the first model learned")

    missing = nextmove(url, "models", "show", "m-nope", cwd=tmp_path)
    assert missing.returncode == 2 and "no model 'm-nope'" in missing.stderr
    assert missing.stdout == ""

    # Nothing was decided since the champion was trained: the update measures and keeps it.
    update = nextmove(url, "models", "update", "--as-of", today, cwd=tmp_path)
    assert update.returncode == 0, update.stderr
    assert f"measured {version} on 0 decisions" in update.stdout and "kept:" in update.stdout
    bad_day = nextmove(url, "models", "update", "--as-of", "someday", cwd=tmp_path)
    assert bad_day.returncode == 2 and "someday" in bad_day.stderr
    no_reason = nextmove(url, "models", "retire", version, cwd=tmp_path)
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    bad_status = nextmove(url, "models", "list", "--status", "best", cwd=tmp_path)
    assert bad_status.returncode == 2 and "best" in bad_status.stderr

    retired = nextmove(url, "models", "retire", version, "--reason", "back to priors", cwd=tmp_path)
    assert retired.returncode == 0, retired.stderr
    assert f"model {version} is now retired" in retired.stdout
    decided = nextmove(url, "decide", "--as-of", today, cwd=tmp_path)
    assert decided.returncode == 0, decided.stderr
    with Engine.open(url) as engine:
        assert engine.decisions(limit=1)["model_version"][0].startswith("prior-")
        actions = [e.action for e in engine.audit_entries(limit=50)]
    assert "model.retired" in actions and "model.register" in actions
