"""Who should act on a sales or service item. Pure: capacities are passed in.

The account's owner acts when present with room left; an unowned account's item goes to
the team queue. An owner who is absent, out of capacity or not on the roster (people
leave; CRM exports still name them) hands the item to the teammate with the most room
left (ties by id, so the choice is reproducible), and the assignment says so; with
nobody available it waits in the team queue. Routing a batch spends capacity as it
goes, so reassigned work is spread across the team rather than piled on one person.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Assignment", "RoutingRequest", "Teammate", "route", "route_all"]


@dataclass(frozen=True, slots=True)
class Teammate:
    """A person who can take the work: how many more items they can take, and if absent."""

    owner_id: str
    remaining: int
    absent: bool = False


@dataclass(frozen=True, slots=True)
class RoutingRequest:
    """One item to route: its account and that account's owner (None when unowned)."""

    account_id: str
    owner_id: str | None


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who acts on an item, whether that is someone other than the owner, and why."""

    account_id: str
    assignee: str
    reassigned: bool
    reason: str


def route(
    request: RoutingRequest, *, team_queue: str, roster: Mapping[str, Teammate]
) -> Assignment:
    """Return who should act on one item given the team's ``roster`` (by owner id)."""
    owner = request.owner_id
    if owner is None:
        reason = f"the account has no owner, so it goes to the team queue {team_queue}"
        return Assignment(request.account_id, team_queue, False, reason)
    mate = roster.get(owner)
    if mate is not None and not mate.absent and mate.remaining > 0:
        return Assignment(request.account_id, owner, False, f"account owner {owner}")
    why = _unavailable(owner, mate)
    best = _most_room(roster.values(), excluding=owner)
    if best is None:
        reason = f"{why} and nobody on the team has room left, so it waits in {team_queue}"
        return Assignment(request.account_id, team_queue, True, reason)
    reason = f"{why}; reassigned to {best.owner_id}, who has the most room ({best.remaining} left)"
    return Assignment(request.account_id, best.owner_id, True, reason)


def route_all(
    requests: Iterable[RoutingRequest], *, team_queue: str, roster: Sequence[Teammate]
) -> list[Assignment]:
    """Route items in order, spending each assignee's capacity as it goes."""
    left = {mate.owner_id: mate for mate in roster}
    assignments = []
    for request in requests:
        assignment = route(request, team_queue=team_queue, roster=left)
        mate = left.get(assignment.assignee)
        if mate is not None:
            left[mate.owner_id] = Teammate(mate.owner_id, mate.remaining - 1, mate.absent)
        assignments.append(assignment)
    return assignments


def _unavailable(owner: str, mate: Teammate | None) -> str:
    if mate is None:
        return f"owner {owner} is not on the team roster"
    if mate.absent:
        return f"owner {owner} is absent"
    return f"owner {owner} has no capacity left"


def _most_room(roster: Iterable[Teammate], *, excluding: str | None) -> Teammate | None:
    available = [
        mate
        for mate in roster
        if mate.owner_id != excluding and not mate.absent and mate.remaining > 0
    ]
    if not available:
        return None
    return min(available, key=lambda mate: (-mate.remaining, mate.owner_id))
