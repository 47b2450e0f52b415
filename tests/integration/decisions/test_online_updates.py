"""Online updates between refits, through the Engine and the CLI: when the moves stop
bringing purchases, the champion's uplift is scaled down and a new champion names it —
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from nextmove import Engine
from nextmove.agent import Agent
from nextmove.cli.app import app
from nextmove.domain import Outcome
from nextmove.learning.model import ModelStatus
from nextmove.loop.model import LoopSchedule

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
START = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def _prepared(engine: Engine, company: Path) -> None:
    engine.import_folder(company)
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "online_updates: true " in text  # the example playbook's own setting
    for old, new in [
        ("exploration_budget: 0.05 ", "exploration_budget: 0.3 "),  # many moves to measure
        ("attribution_days: 30 ", "attribution_days: 7 "),
        # contact rules that let the same accounts be moved day after day
        ("channel: email, max: 1, days: 7}", "channel: email, max: 100, days: 7}"),
        ("channel: any, max: 3, days: 30}", "channel: any, max: 100, days: 30}"),
        ("channel: meeting, max: 1, days: 30}", "channel: meeting, max: 100, days: 30}"),
        ("{id: after_touch, after: touch, days: 3}", "{id: after_touch, after: touch, days: 1}"),
    ]:
        assert old in text
        text = text.replace(old, new)
    engine.apply_playbook(text, message="online updates")


def _days(engine: Engine, first: int, last: int, *, moves_buy: float) -> None:
    """Decide each day; a move's product is bought within days with ``moves_buy``."""
    rng = random.Random(first)
    for day in range(first, last):
        as_of = START + timedelta(days=day)
        decided = engine.decide(as_of=as_of).decisions.filter(pl.col("product_id").is_not_null())
        bought = [
            Outcome(
                outcome_id=f"buy-{day}-{row['account_id']}",
                account_id=row["account_id"],
                outcome_type="purchase",
                product_id=row["product_id"],
                value=1000.0,
                occurred_at=as_of + timedelta(days=rng.randint(1, 3)),
            )
            for row in decided.iter_rows(named=True)
            if rng.random() < (0.02 if row["action"] == "no_action" else moves_buy)
        ]
        engine.record_outcomes(bought)


def test_moves_that_stop_working_are_scaled_down_between_refits(
    engine: Engine, small_company: Path
) -> None:
    _prepared(engine, small_company)
    assert engine.update_model(as_of=START).base is None  # nothing learned: nothing to update
    _days(engine, 0, 10, moves_buy=0.4)
    learned = engine.learn(as_of=START + timedelta(days=10))
    assert learned.status is ModelStatus.CHAMPION
    base = learned.model_version

    _days(engine, 10, 24, moves_buy=0.0)  # from here on the moves bring nothing
    found = engine.update_model(as_of=START + timedelta(days=24))
    assert found.base == base and found.since == START + timedelta(days=10)
    assert found.decisions == 14 * 300 and found.rows > found.decisions
    assert found.registered, found
    assert min(found.factors.values()) < 0.8, found.factors
    assert all(0.2 <= f <= 1.0 for f in found.factors.values())
    status = {r.version: r for r in engine.models()}
    updated = status[found.model_version or ""]
    assert updated.status is ModelStatus.CHAMPION and status[base].status is ModelStatus.RETIRED
    assert updated.evaluation["update_of"] == base
    assert updated.as_of == status[base].as_of  # the data it was fitted on did not change
    run = engine.decide(as_of=START + timedelta(days=24))
    assert run.model_version == updated.version
    entries = [e for e in engine.audit_entries(limit=200) if e.action == "model.update"]
    assert [e.subject for e in entries] == [f"model:{updated.version}"]

    # Measured again on the same outcomes, nothing moved: the update is kept as it is.
    again = engine.update_model(as_of=START + timedelta(days=24))
    assert again.base == base and not again.registered
    assert again.model_version == updated.version
    assert len(engine.models()) == 2


def test_the_agent_updates_after_its_batch_when_the_playbook_asks(
    engine: Engine, small_company: Path
) -> None:
    _prepared(engine, small_company)
    _days(engine, 0, 10, moves_buy=0.4)
    base = engine.learn(as_of=START + timedelta(days=10)).model_version
    _days(engine, 10, 24, moves_buy=0.0)
    now = START + timedelta(days=24)
    schedule = LoopSchedule(poll_seconds=0, learn_every=timedelta(days=7))
    report = Agent(engine, schedule=schedule, clock=lambda: now).cycle()
    assert report.error is None and report.batch_run is not None
    [champion] = engine.models(status="champion")
    assert report.updated == champion.version != base
    assert champion.evaluation["update_of"] == base
    # The batch it ran decided with the model before the update; the next one with it.
    assert engine.decide(as_of=now + timedelta(hours=1)).model_version == champion.version


def test_the_cli_updates_the_champion_and_says_what_it_measured(
    database_url: str, small_company: Path
) -> None:
    with Engine.open(database_url) as engine:
        _prepared(engine, small_company)
        _days(engine, 0, 10, moves_buy=0.4)
        engine.learn(as_of=START + timedelta(days=10))
        _days(engine, 10, 24, moves_buy=0.0)
    runner = CliRunner()
    result = runner.invoke(
        app, ["models", "update", "--as-of", "2026-09-25", "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    assert "measured m-" in result.output and "uplift factors" in result.output
    served = re.search(r"updated: .* (m-[0-9a-f]+) serves", result.output.replace("\n", " "))
    assert served is not None, result.output
    shown = runner.invoke(app, ["models", "show", served[1], "--database-url", database_url])
    record = json.loads(shown.output)
    assert record["status"] == "champion" and record["evaluation"]["update_of"].startswith("m-")
    assert record["evaluation"]["reasons"][0].startswith("online update")
