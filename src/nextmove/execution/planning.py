"""What stored decisions ask for: outbox actions, approval requests, owners' lists. Pure.

The autonomy a decision was stored with says where it goes: ``auto`` to the outbox,
``approve`` to the approvals queue (enqueued once people approve it), ``recommend`` to the
owner's list (the stored decision itself); ``shadow`` and ``never`` go nowhere. Work a
person carries out (a call, a meeting) is routed to who should act: the account owner,
or, when the owner is absent or full, the teammate with the most room left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from pydantic import JsonValue

from nextmove.execution.model import NewAction
from nextmove.execution.outbox import action_for_decision
from nextmove.execution.routing import Assignment, RoutingRequest, Teammate, route_all
from nextmove.playbook.model import AutonomyLevel, Channel, Playbook

__all__ = [
    "ActionPlan",
    "ProposedApproval",
    "approval_action",
    "plan_actions",
    "roster_of",
    "rosters_of",
    "routed_teams",
    "team_queue",
]

PERSON_LED = frozenset({Channel.PHONE, Channel.MEETING})
"""Channels where a person carries the work out, so it is routed to someone."""
UNLIMITED = 1_000_000
_FEW_ROWS = 64
"""Up to this many decisions, the teams they route to are found in plain Python."""


@dataclass(frozen=True, slots=True)
class ProposedApproval:
    """A decision waiting for people: what they approve, and what it is worth."""

    decision_id: int
    account_id: str
    action: str
    product_id: str | None
    value: float
    payload: Mapping[str, JsonValue]


@dataclass(slots=True)
class ActionPlan:
    """Where a batch of stored decisions goes."""

    outbox: list[NewAction] = field(default_factory=list)
    approvals: list[ProposedApproval] = field(default_factory=list)
    recommended: int = 0
    reassigned: list[Assignment] = field(default_factory=list)


def team_queue(team: str) -> str:
    """Return the name of a team's shared queue (work nobody on the team can take now)."""
    return f"queue:{team}"


def roster_of(
    owners: pl.DataFrame,
    *,
    team: str,
    per_owner: int | None,
    assigned_today: Mapping[str, int],
    absent: Iterable[str] = (),
) -> list[Teammate]:
    """Return a team's teammates with the room each has left today.

    ``owners`` has owner_id, team_id, capacity_per_day and active; an inactive owner (or
    one in ``absent``) is absent. A person's own ``capacity_per_day`` wins over the
    playbook's ``per_owner`` figure; with neither, room is unlimited.
    """
    return rosters_of(
        owners, per_owner={team: per_owner}, assigned_today=assigned_today, absent=absent
    )[team]


def rosters_of(
    owners: pl.DataFrame,
    *,
    per_owner: Mapping[str, int | None],
    assigned_today: Mapping[str, int],
    absent: Iterable[str] = (),
) -> dict[str, list[Teammate]]:
    """Return the roster (as :func:`roster_of` does) of each team of ``per_owner`` (team
    → the playbook's per-owner figure), in one pass over ``owners``."""
    away = set(absent)
    rosters: dict[str, list[Teammate]] = {team: [] for team in per_owner}
    if owners.height == 0 or not rosters:
        return rosters
    teams = owners.get_column("team_id").to_list()
    chosen = [i for i, team in enumerate(teams) if team in rosters]
    if not chosen:
        return rosters
    ids = owners.get_column("owner_id").to_list()
    own = _column(owners, "capacity_per_day", None)
    active = _column(owners, "active", True)
    for i in chosen:
        team = teams[i]
        owner = str(ids[i])
        limit = per_owner[team]
        capacity = own[i]
        if capacity is not None:
            limit = int(capacity)
        elif limit is None:
            limit = UNLIMITED
        remaining = max(limit - assigned_today.get(owner, 0), 0)
        missing = not active[i] or owner in away
        rosters[team].append(Teammate(owner, remaining, missing))
    return rosters


def _column(frame: pl.DataFrame, name: str, missing: object) -> list[Any]:
    """A column's values, or ``missing`` for every row when the frame has no such column."""
    if name in frame.columns:
        return frame.get_column(name).to_list()
    return [missing] * frame.height


def routed_teams(decisions: pl.DataFrame, playbook: Playbook) -> set[str]:
    """The teams whose rosters :func:`plan_actions` needs for ``decisions``: those of the
    ``auto`` and ``approve`` decisions of person-led actions."""
    if decisions.height == 0:
        return set()
    routed = (AutonomyLevel.AUTO.value, AutonomyLevel.APPROVE.value)
    pairs = (
        zip(decisions["action"].to_list(), decisions["autonomy"].to_list(), strict=True)
        if decisions.height <= _FEW_ROWS
        else decisions.select("action", "autonomy").unique().iter_rows()
    )
    teams = set()
    for action, level in pairs:
        spec = playbook.actions.get(str(action))
        if spec is not None and spec.team is not None and spec.channel in PERSON_LED:
            if level in routed:
                teams.add(spec.team)
    return teams


def plan_actions(
    decisions: pl.DataFrame,
    *,
    playbook: Playbook,
    connector_of: Callable[[str], str],
    rosters: Mapping[str, Sequence[Teammate]],
) -> ActionPlan:
    """Return what stored acting decisions (rows of ``decisions``) ask for.

    Routed work is handed out by expected value, most valuable first, so the best moves
    keep their owner when a team runs short.
    """
    plan = ActionPlan()
    rows = (
        decisions.sort("expected_value", descending=True, nulls_last=True)
        if decisions.height > 1  # one row is in order already
        else decisions
    )
    assignments = _assignments(rows, playbook, rosters)
    for row in rows.iter_rows(named=True):
        level = AutonomyLevel(row["autonomy"])
        if level is AutonomyLevel.RECOMMEND:
            plan.recommended += 1
            continue
        if level not in (AutonomyLevel.AUTO, AutonomyLevel.APPROVE):
            continue
        assignment = assignments.get(int(row["decision_id"]))
        if assignment is not None and assignment.reassigned:
            plan.reassigned.append(assignment)
        action = action_for_decision(
            row, connector=connector_of(str(row["action"])), assignment=assignment
        )
        if level is AutonomyLevel.AUTO:
            plan.outbox.append(action)
            continue
        payload = dict(action.payload)
        payload.update(
            decision_id=action.decision_id,
            assignee=action.assignee,
            routing_reason=action.routing_reason,
        )
        plan.approvals.append(
            ProposedApproval(
                decision_id=int(row["decision_id"]),
                account_id=action.account_id,
                action=action.action,
                product_id=action.product_id,
                value=float(row["expected_value"]),
                payload=payload,
            )
        )
    return plan


def approval_action(
    *,
    approval_id: int,
    account_id: str,
    action: str,
    product_id: str | None,
    payload: Mapping[str, JsonValue],
    connector: str,
) -> NewAction:
    """Return the outbox action of an approved request, keyed ``approval:<id>``.

    The payload is the one people approved (edits included); who acts was fixed when
    the request was made and travels in it.
    """
    assignee = payload.get("assignee")
    reason = payload.get("routing_reason")
    run_id = payload.get("run_id")
    return NewAction(
        account_id=account_id,
        action=action,
        connector=connector,
        payload=dict(payload),
        source=f"approval:{approval_id}",
        run_id=run_id if isinstance(run_id, int) else None,
        product_id=product_id,
        assignee=assignee if isinstance(assignee, str) else None,
        routing_reason=reason if isinstance(reason, str) else None,
    )


def _assignments(
    rows: pl.DataFrame, playbook: Playbook, rosters: Mapping[str, Sequence[Teammate]]
) -> dict[int, Assignment]:
    """Route the auto and approve decisions of person-led actions, team by team."""
    by_team: dict[str, list[dict[str, Any]]] = {}
    routed = (AutonomyLevel.AUTO.value, AutonomyLevel.APPROVE.value)
    for row in rows.iter_rows(named=True):
        spec = playbook.actions.get(str(row["action"]))
        if spec is None or spec.team is None or spec.channel not in PERSON_LED:
            continue
        if row["autonomy"] in routed:
            by_team.setdefault(spec.team, []).append(row)
    found: dict[int, Assignment] = {}
    for team, team_rows in by_team.items():
        requests = [RoutingRequest(str(r["account_id"]), r.get("owner_id")) for r in team_rows]
        routed_rows = route_all(
            requests, team_queue=team_queue(team), roster=list(rosters.get(team, ()))
        )
        for row, assignment in zip(team_rows, routed_rows, strict=True):
            found[int(row["decision_id"])] = assignment
    return found
