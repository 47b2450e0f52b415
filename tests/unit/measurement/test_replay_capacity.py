"""A replay on a sample of the accounts gets the sample's share of each capacity."""

from __future__ import annotations

from nextmove.governance.guardrail_rules import CapacityLimit
from nextmove.measurement.replay import _scaled


def test_numbers_scale_up_to_whole_moves_and_column_limits_stay() -> None:
    team = CapacityLimit("team", "team_id", {"sales": 5, "service": 1}, default=40)
    half = _scaled(team, 0.5)
    assert half.limits == {"sales": 3, "service": 1} and half.default == 20
    assert half.rule_id == "team" and half.group == "team_id"
    assert team.limits == {"sales": 5, "service": 1}  # the playbook's own is untouched
    owners = CapacityLimit("owner", "owner_id", "owner_capacity")
    assert _scaled(owners, 0.1).limits == "owner_capacity"
    assert _scaled(team, 1.0) is team
    unlimited = CapacityLimit("any", "segment", {}, default=None)
    assert _scaled(unlimited, 0.3).default is None
