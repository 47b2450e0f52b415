"""What earlier runs today and this week leave of each capacity."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from nextmove.decisions.capacity import remaining_capacities
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.policy import guardrail_policy
from nextmove.playbook.semantics import KnownCatalog, context_schema_for

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"


def used(rows: list[tuple[str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"action": pl.String, "owner_id": pl.String}, orient="row")


def test_room_is_the_smaller_of_the_days_and_the_weeks() -> None:
    playbook = load_playbook(EXAMPLE.read_text(encoding="utf-8")).playbook
    policy = guardrail_policy(playbook, context_schema_for(playbook, KnownCatalog()))
    # team-sales: 120 a day, 500 a week, 6 per owner a day, 25 per owner a week.
    today = used([("sales_outreach", "own-1")] * 4 + [("sales_outreach", None)] * 2)
    week = pl.concat(
        [
            today,
            used(
                [("sales_outreach", "own-1")] * 18
                + [("sales_outreach", "own-2")] * 3
                + [("sales_outreach", "own-3")] * 24
            ),
        ]
    )
    left = {c.rule_id: c for c in remaining_capacities(playbook, policy.capacities, today, week)}

    team = left["capacity.team-sales"]
    assert team.limits == {"team-sales": 120 - 6}  # week: 500 − 51 leaves more
    owners = left["capacity.team-sales.per_owner"]
    assert owners.limits["own-1"] == 6 - 4  # the day binds (the week leaves 25 − 22)
    assert owners.limits["own-3"] == 25 - 24  # the week binds (the day leaves 6)
    assert owners.limits["own-2"] == 6  # nothing today, 22 left this week
    assert None not in owners.limits and "" not in owners.limits  # unowned: the default
    assert owners.default == 6
    marketing = left["capacity.team-marketing"]
    assert marketing.limits == {"team-marketing": 20_000}  # untouched: the playbook's day


def test_nothing_used_leaves_the_playbook_limits() -> None:
    playbook = load_playbook(EXAMPLE.read_text(encoding="utf-8")).playbook
    policy = guardrail_policy(playbook, context_schema_for(playbook, KnownCatalog()))
    empty = used([])
    left = remaining_capacities(playbook, policy.capacities, empty, empty)
    assert [(c.rule_id, c.limits, c.default) for c in left] == [
        (c.rule_id, c.limits, c.default) for c in policy.capacities
    ]
