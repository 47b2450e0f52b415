"""Only the rosters routed work needs are built, in one pass over the owners: the same
teammates, room and absence as building each team's roster on its own."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from nextmove.execution import planning
from nextmove.execution.planning import roster_of, rosters_of, routed_teams
from nextmove.execution.routing import Teammate
from nextmove.playbook.loader import load_playbook

PLAYBOOK = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"

OWNERS = pl.DataFrame(
    {
        "owner_id": ["o1", "o2", "o3", "m1", "x1", "o4"],
        "team_id": ["t", "t", "t", "other", None, "t"],
        "capacity_per_day": [4, None, 3, 9, 2, None],
        "active": [True, True, False, True, True, None],
    }
)


def _filtered_roster(
    owners: pl.DataFrame, team: str, per_owner: int | None, used: dict[str, int], away: set[str]
) -> list[Teammate]:
    """A team's roster as it was built before: the team's rows filtered out by polars."""
    mates = []
    for row in owners.filter(pl.col("team_id") == team).iter_rows(named=True):
        owner = str(row["owner_id"])
        own = row.get("capacity_per_day")
        limit = int(own) if own is not None else per_owner if per_owner is not None else 1_000_000
        remaining = max(limit - used.get(owner, 0), 0)
        mates.append(Teammate(owner, remaining, not row.get("active", True) or owner in away))
    return mates


@pytest.mark.parametrize("owners", [OWNERS, OWNERS.drop("capacity_per_day", "active")])
def test_rosters_in_one_pass_are_each_teams_roster(owners: pl.DataFrame) -> None:
    per_owner = {"t": 6, "other": None, "nobody": 2}
    used = {"o1": 3, "m1": 20, "o4": 1}
    together = rosters_of(owners, per_owner=per_owner, assigned_today=used, absent=["o2"])
    apart = {team: _filtered_roster(owners, team, n, used, {"o2"}) for team, n in per_owner.items()}
    assert together == apart
    assert together["nobody"] == []
    alone = roster_of(owners, team="t", per_owner=6, assigned_today=used, absent=["o2"])
    assert alone == apart["t"]


def test_no_team_no_owners_read() -> None:
    assert rosters_of(OWNERS, per_owner={}, assigned_today={}) == {}
    assert rosters_of(OWNERS.clear(), per_owner={"t": 1}, assigned_today={}) == {"t": []}


@pytest.mark.parametrize(
    ("rows", "teams"),
    [
        ([("digital_program", "auto")], set()),  # email: nobody to route it to
        ([("sales_outreach", "approve")], {"team-sales"}),
        ([("sales_outreach", "recommend"), ("service_conversation", "shadow")], set()),
        (
            [("service_conversation", "auto"), ("sales_outreach", "auto"), ("gone", "auto")],
            {"team-sales", "team-customer-success"},
        ),
        ([], set()),
    ],
)
def test_the_routed_teams_of_a_few_decisions_are_those_of_many(
    rows: list[tuple[str, str]], teams: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    playbook = load_playbook(PLAYBOOK.read_text(encoding="utf-8")).playbook
    decisions = pl.DataFrame(
        {"action": [a for a, _ in rows], "autonomy": [level for _, level in rows]},
        schema={"action": pl.String, "autonomy": pl.String},
    )
    few = routed_teams(decisions, playbook)
    monkeypatch.setattr(planning, "_FEW_ROWS", 0)
    assert few == routed_teams(decisions, playbook) == teams
