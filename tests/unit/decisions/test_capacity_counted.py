"""Capacity left after earlier decisions, counted as the store reports them: a few rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from nextmove.decisions.capacity import capacity_left, remaining_capacities
from nextmove.governance.guardrail_rules import CapacityLimit
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import Playbook
from nextmove.playbook.policy import guardrail_policy
from nextmove.playbook.semantics import KnownCatalog, context_schema_for

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"


def _limits() -> tuple[Playbook, list[CapacityLimit]]:
    playbook = load_playbook(EXAMPLE.read_text(encoding="utf-8")).playbook
    policy = guardrail_policy(playbook, context_schema_for(playbook, KnownCatalog()))
    return playbook, list(policy.capacities)


def test_counted_rows_leave_what_the_decisions_one_by_one_leave() -> None:
    playbook, capacities = _limits()
    today = [("sales_outreach", "own-1")] * 4 + [("sales_outreach", None)] * 2
    week = today + [("sales_outreach", "own-1")] * 18 + [("sales_outreach", "own-3")] * 24
    week += [("digital_program", "own-2")] * 7 + [("no_action", "own-2")] * 3
    frame = pl.DataFrame(week, schema={"action": pl.String, "owner_id": pl.String}, orient="row")
    one_by_one = remaining_capacities(playbook, capacities, frame.head(len(today)), frame)
    # The store counts per run: the same action and owner come back once per run.
    counted = capacity_left(
        playbook,
        capacities,
        [("sales_outreach", "own-1", 1), ("sales_outreach", "own-1", 3)]
        + [("sales_outreach", None, 2)],
        [("sales_outreach", "own-1", 4), ("sales_outreach", "own-1", 18)]
        + [("sales_outreach", None, 2), ("sales_outreach", "own-3", 24)]
        + [("digital_program", "own-2", 7), ("no_action", "own-2", 3)],
    )
    assert [(c.rule_id, c.limits, c.default) for c in counted] == [
        (c.rule_id, c.limits, c.default) for c in one_by_one
    ]
    left = {c.rule_id: c for c in counted}
    assert left["capacity.team-sales.per_owner"].limits["own-1"] == 6 - 4
    assert left["capacity.team-sales.per_owner"].limits["own-3"] == 25 - 24
    assert left["capacity.team-sales"].limits == {"team-sales": 120 - 6}


def test_a_decisions_column_counts_as_that_many_decisions() -> None:
    playbook, capacities = _limits()
    rows = pl.DataFrame(
        {"action": ["sales_outreach"], "owner_id": ["own-1"], "decisions": [5]},
        schema={"action": pl.String, "owner_id": pl.String, "decisions": pl.Int64},
    )
    left = {c.rule_id: c for c in remaining_capacities(playbook, capacities, rows, rows)}
    assert left["capacity.team-sales.per_owner"].limits["own-1"] == 6 - 5
