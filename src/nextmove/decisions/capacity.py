"""What is left of each capacity after the day's and the week's earlier decisions. Pure.

The playbook's capacities hold per day and per week; a decision run may only take what
earlier runs (the same day, the same ISO week) left. A decision uses capacity when it asks
people for work: anything but ``no_action`` and ``shadow`` (which is only logged).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from itertools import repeat

import polars as pl

from nextmove.governance.guardrail_rules import CapacityLimit
from nextmove.playbook.model import Playbook

__all__ = ["CapacityUse", "capacity_left", "remaining_capacities"]

CapacityUse = tuple[str, str | None, int]
"""Earlier decisions that used capacity: their action, owner_id, and how many they were."""


def remaining_capacities(
    playbook: Playbook,
    capacities: Sequence[CapacityLimit],
    today: pl.DataFrame,
    this_week: pl.DataFrame,
) -> list[CapacityLimit]:
    """Return ``capacities`` less what ``today``'s and ``this_week``'s decisions used.

    Both frames hold earlier decisions that use capacity (action, owner_id); a
    ``decisions`` column, when there is one, says how many decisions each row stands for.
    Each limit keeps the smaller of the day's and the week's room, per group.
    """
    return capacity_left(playbook, capacities, _uses(today), _uses(this_week))


def capacity_left(
    playbook: Playbook,
    capacities: Sequence[CapacityLimit],
    today: Iterable[CapacityUse],
    this_week: Iterable[CapacityUse],
) -> list[CapacityLimit]:
    """:func:`remaining_capacities` of the decisions ``today`` and ``this_week`` counted:
    a few (action, owner_id, decisions) rows, summed in plain Python."""
    teams = {name: action.team for name, action in playbook.actions.items()}
    today_counts, week_counts = _by_action(today), _by_action(this_week)
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
        used_day = _used(today_counts, limit, teams)
        used_week = _used(week_counts, limit, teams)
        groups = set(used_day) | set(used_week) | set(limit.limits)
        room = {
            group: _room(day, used_day.get(group, 0), week, used_week.get(group, 0))
            for group in groups
        }
        result.append(replace(limit, limits={g: r for g, r in room.items() if r is not None}))
    return result


def _uses(decisions: pl.DataFrame) -> list[CapacityUse]:
    if decisions.height == 0:
        return []
    owners = decisions["owner_id"].to_list() if "owner_id" in decisions.columns else repeat(None)
    counts = decisions["decisions"].to_list() if "decisions" in decisions.columns else repeat(1)
    return list(zip(decisions["action"].to_list(), owners, counts, strict=False))


def _by_action(uses: Iterable[CapacityUse]) -> dict[str, dict[str | None, int]]:
    """How many decisions of each action each owner has (so that each limit sums the few
    owners of its own actions, rather than the decisions)."""
    counts: dict[str, dict[str | None, int]] = {}
    for action, owner, n in uses:
        owners = counts.setdefault(action, {})
        owners[owner] = owners.get(owner, 0) + n
    return counts


def _used(
    counts: Mapping[str, Mapping[str | None, int]],
    limit: CapacityLimit,
    teams: Mapping[str, str | None],
) -> dict[str, int]:
    """How many decisions each group of ``limit`` used: per owner, or per team (the one
    each decision's action belongs to)."""
    used: dict[str, int] = {}
    if limit.group not in ("owner_id", "team_id"):
        return used
    actions = limit.actions if limit.actions is not None else set(counts) - {"no_action"}
    for action in actions & counts.keys():
        if limit.group == "team_id":
            team = teams.get(action)
            if team is not None:
                used[team] = used.get(team, 0) + sum(counts[action].values())
            continue
        for owner, n in counts[action].items():
            # A null owner (an unowned account) always gets the limit's default, as in the
            # filter.
            if owner is not None:
                used[owner] = used.get(owner, 0) + n
    return used


def _room(day: int | None, used_day: int, week: int | None, used_week: int) -> int | None:
    left = [limit - used for limit, used in ((day, used_day), (week, used_week)) if limit]
    if day == 0 or week == 0:
        return 0
    return max(0, min(left)) if left else None
