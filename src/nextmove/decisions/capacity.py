"""What is left of each capacity after the day's and the week's earlier decisions. Pure.

The playbook's capacities hold per day and per week; a decision run may only take what
earlier runs (the same day, the same ISO week) left. A decision uses capacity when it asks
people for work: anything but ``no_action`` and ``shadow`` (which is only logged).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import polars as pl

from nextmove.governance.guardrail_rules import CapacityLimit
from nextmove.playbook.model import Playbook

__all__ = ["remaining_capacities"]


def remaining_capacities(
    playbook: Playbook,
    capacities: Sequence[CapacityLimit],
    today: pl.DataFrame,
    this_week: pl.DataFrame,
) -> list[CapacityLimit]:
    """Return ``capacities`` less what ``today``'s and ``this_week``'s decisions used.

    Both frames hold earlier decisions that use capacity (action, team_id, owner_id).
    Each limit keeps the smaller of the day's and the week's room, per group.
    """
    teams = {name: action.team for name, action in playbook.actions.items()}
    today, this_week = (_with_teams(frame, teams) for frame in (today, this_week))
    result = []
    for limit in capacities:
        team = limit.rule_id.removeprefix("capacity.").removesuffix(".per_owner")
        declared = playbook.capacity.teams.get(team)
        if declared is None or isinstance(limit.limits, str):
            result.append(limit)
            continue
        per_owner = limit.group == "owner_id"
        day = declared.per_owner_per_day if per_owner else declared.per_day
        week = declared.per_owner_per_week if per_owner else declared.per_week
        used_day = _used(today, limit)
        used_week = _used(this_week, limit)
        groups = set(used_day) | set(used_week) | set(limit.limits)
        room = {
            group: _room(day, used_day.get(group, 0), week, used_week.get(group, 0))
            for group in groups
        }
        result.append(replace(limit, limits={g: r for g, r in room.items() if r is not None}))
    return result


def _with_teams(decisions: pl.DataFrame, teams: dict[str, str | None]) -> pl.DataFrame:
    team = pl.col("action").replace_strict(teams, default=None, return_dtype=pl.String)
    return decisions.with_columns(team_id=team)


def _used(decisions: pl.DataFrame, limit: CapacityLimit) -> dict[str, int]:
    if decisions.height == 0:
        return {}
    concerned = decisions.filter(
        pl.col("action").is_in(list(limit.actions))
        if limit.actions is not None
        else pl.col("action") != "no_action"
    )
    # A null group (an unowned account) always gets the limit's default, as in the filter.
    counted = concerned.filter(pl.col(limit.group).is_not_null()).group_by(limit.group).len()
    return {str(group): int(n) for group, n in counted.iter_rows()}


def _room(day: int | None, used_day: int, week: int | None, used_week: int) -> int | None:
    left = [limit - used for limit, used in ((day, used_day), (week, used_week)) if limit]
    if day == 0 or week == 0:
        return 0
    return max(0, min(left)) if left else None
