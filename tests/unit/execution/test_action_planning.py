"""Where stored decisions go, by autonomy, and who acts on routed work. No database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from nextmove.execution.planning import plan_actions, roster_of
from nextmove.execution.routing import Teammate
from nextmove.playbook.loader import load_playbook

PLAYBOOK = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"


def _decisions(*rows: tuple[int, str, str, str, str | None, float]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "decision_id": d,
                "run_id": 1,
                "account_id": a,
                "action": action,
                "autonomy": level,
                "owner_id": owner,
                "product_id": "prod-analytics-pro",
                "expected_value": value,
                "as_of": datetime(2026, 11, 2, 12, tzinfo=UTC),
                "reasons": "{}",
            }
            for d, a, action, level, owner, value in rows
        ]
    )


def test_each_level_goes_where_the_ladder_says() -> None:
    playbook = load_playbook(PLAYBOOK.read_text(encoding="utf-8")).playbook
    plan = plan_actions(
        _decisions(
            (1, "a1", "digital_program", "auto", "o1", 90.0),
            (2, "a2", "sales_outreach", "approve", "o1", 9000.0),
            (3, "a3", "sales_outreach", "recommend", "o1", 3000.0),
            (4, "a4", "digital_program", "shadow", "o1", 80.0),
        ),
        playbook=playbook,
        connector_of=lambda action: f"to-{action}",
        rosters={"team-sales": [Teammate("o1", 5)]},
    )
    assert [(a.decision_id, a.connector) for a in plan.outbox] == [(1, "to-digital_program")]
    assert plan.outbox[0].routing_reason is None  # email is not routed to a person
    assert [p.decision_id for p in plan.approvals] == [2]
    assert plan.approvals[0].payload["assignee"] == "o1"
    assert plan.approvals[0].payload["routing_reason"] == "account owner o1"
    assert plan.recommended == 1 and plan.reassigned == []


def test_the_most_valuable_work_keeps_its_owner_when_room_runs_short() -> None:
    playbook = load_playbook(PLAYBOOK.read_text(encoding="utf-8")).playbook
    plan = plan_actions(
        _decisions(
            (1, "a1", "sales_outreach", "approve", "o1", 3000.0),
            (2, "a2", "sales_outreach", "approve", "o1", 8000.0),
            (3, "a3", "sales_outreach", "approve", "gone", 5000.0),
        ),
        playbook=playbook,
        connector_of=lambda action: "crm",
        rosters={"team-sales": [Teammate("o1", 1), Teammate("o2", 1), Teammate("o3", 0)]},
    )
    assigned = {p.decision_id: p.payload["assignee"] for p in plan.approvals}
    assert assigned == {2: "o1", 3: "o2", 1: "queue:team-sales"}
    assert len(plan.reassigned) == 2
    assert "owner gone is not on the team roster" in str(plan.reassigned[0].reason)


def test_a_roster_counts_room_left_and_who_is_away() -> None:
    owners = pl.DataFrame(
        {
            "owner_id": ["o1", "o2", "o3", "m1"],
            "team_id": ["t", "t", "t", "other"],
            "capacity_per_day": [4, None, 3, 9],
            "active": [True, True, False, True],
        }
    )
    mates = roster_of(owners, team="t", per_owner=6, assigned_today={"o1": 3}, absent=["o2"])
    assert mates == [Teammate("o1", 1), Teammate("o2", 6, True), Teammate("o3", 3, True)]
