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

    Both frames hold earlier decisions that use capacity (action, team_id, owner_id); a
    ``decisions`` column, when there is one, says how many decisions each row stands for.
    Each limit keeps the smaller of the day's and the week's room, per group.
    """
    teams = {name: action.team for name, action in playbook.actions.items()}
    today_counts, week_counts = (_counts(f, teams) for f in (today, this_week))
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
        used_day = _used(today_counts, limit)
        used_week = _used(week_counts, limit)
        groups = set(used_day) | set(used_week) | set(limit.limits)
        room = {
            group: _room(day, used_day.get(group, 0), week, used_week.get(group, 0))
            for group in groups
        }
        result.append(replace(limit, limits={g: r for g, r in room.items() if r is not None}))
    return result


def _counts(decisions: pl.DataFrame, teams: dict[str, str | None]) -> list[dict[str, object]]:
    """How many decisions share each combination of their values (few: one per action and
    owner), with each action's ``team_id``, so that each limit sums a short list rather
    than the decisions."""
    if decisions.height == 0:
        return []
    if "decisions" in decisions.columns:
        keys = [c for c in decisions.columns if c != "decisions"]
        summed = decisions.group_by(keys).agg(pl.col("decisions").sum().alias("_n"))
        counts = summed.to_dicts()
    else:
        counts = decisions.group_by(decisions.columns).len("_n").to_dicts()
    return [{**row, "team_id": teams.get(str(row["action"]))} for row in counts]


def _used(counts: list[dict[str, object]], limit: CapacityLimit) -> dict[str, int]:
    used: dict[str, int] = {}
    for row in counts:
        action, group, n = row["action"], row.get(limit.group), row["_n"]
        assert isinstance(n, int)
        concerned = action in limit.actions if limit.actions is not None else action != "no_action"
        # A null group (an unowned account) always gets the limit's default, as in the filter.
        if concerned and group is not None:
            used[str(group)] = used.get(str(group), 0) + n
    return used


def _room(day: int | None, used_day: int, week: int | None, used_week: int) -> int | None:
    left = [limit - used for limit, used in ((day, used_day), (week, used_week)) if limit]
    if day == 0 or week == 0:
        return 0
    return max(0, min(left)) if left else None
