"""Use cases of execution: act on stored decisions and approvals, inside the caller's
transaction, and say how the queues stand.

``act_on_decisions`` runs inside the transaction that stores a decision run, so the run,
its outbox items and its approval requests commit together or not at all. Approved
requests become outbox items keyed ``approval:<id>`` (``enqueue_approved``), in the
transaction that approves them or at the next sweep; enqueueing twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl
from sqlalchemy import Connection

from nextmove.execution.connectors.registry import ConnectorSet
from nextmove.execution.dispatcher import EXECUTION_ACTOR
from nextmove.execution.model import OutboxStatus
from nextmove.execution.outbox import enqueue
from nextmove.execution.planning import (
    ActionPlan,
    approval_action,
    plan_actions,
    rosters_of,
    routed_teams,
)
from nextmove.execution.repository import OutboxRepository
from nextmove.execution.routing import Teammate
from nextmove.governance import queue_service
from nextmove.governance.autonomy import required_approvers
from nextmove.governance.model import Approval, ApprovalStatus
from nextmove.playbook.model import Playbook
from nextmove.store import UnitOfWork

__all__ = [
    "ActedOn",
    "QueueState",
    "act_on_decisions",
    "connector_for",
    "enqueue_approved",
    "queue_state",
]


@dataclass(frozen=True, slots=True)
class ActedOn:
    """What a decision run asked for: items enqueued, approvals requested, the rest."""

    enqueued: int = 0
    approvals: int = 0
    recommended: int = 0
    reassigned: int = 0


@dataclass(frozen=True, slots=True)
class QueueState:
    """The outbox by status, and how long the oldest due item has waited (seconds)."""

    outbox: dict[OutboxStatus, int]
    oldest_due_seconds: float | None


def connector_for(connectors: ConnectorSet, playbook: Playbook | None, action: str) -> str:
    """Return the connector ``action`` is sent through.

    The connectors file's ``actions`` map wins; then the playbook action's ``connector``
    when such a connector is configured; then the file's ``default``.
    """
    if action in connectors.actions:
        return connectors.actions[action]
    spec = playbook.actions.get(action) if playbook is not None else None
    if spec is not None and spec.connector and connectors.get(spec.connector) is not None:
        return spec.connector
    return connectors.connector_for(action)


def act_on_decisions(
    uow: UnitOfWork,
    decisions: pl.DataFrame,
    *,
    playbook: Playbook,
    playbook_version: int | None,
    connectors: ConnectorSet,
    owners: pl.DataFrame | Callable[[], pl.DataFrame],
    now: datetime,
    approval_ttl: timedelta,
    absent: Iterable[str] = (),
) -> ActedOn:
    """Enqueue the auto decisions and request approval of the approve ones, in ``uow``.

    ``owners`` (owner_id, team_id, capacity_per_day, active) is who work can be routed
    to, or a function that reads them (called only when some work is routed); what each
    already got today counts against their room.
    """
    connection = uow.connection
    teams = routed_teams(decisions, playbook)
    rosters: dict[str, list[Teammate]] = {}
    if teams:  # who has room is read only when some work goes to a person
        day = datetime(now.year, now.month, now.day, tzinfo=UTC)
        used = OutboxRepository(connection).assigned(day, day + timedelta(days=1))
        everyone = owners if isinstance(owners, pl.DataFrame) else owners()
        rosters = _rosters(playbook, everyone, used, absent, teams)
    plan = plan_actions(
        decisions,
        playbook=playbook,
        connector_of=lambda action: connector_for(connectors, playbook, action),
        rosters=rosters,
    )
    enqueued = enqueue(connection, plan.outbox, now=now)
    _request_approvals(uow, plan, playbook, playbook_version, now, approval_ttl)
    return ActedOn(
        enqueued=len(enqueued.inserted),
        approvals=len(plan.approvals),
        recommended=plan.recommended,
        reassigned=len(plan.reassigned),
    )


def enqueue_approved(
    connection: Connection,
    approvals: Sequence[Approval],
    *,
    playbook: Playbook | None,
    connectors: ConnectorSet,
    now: datetime,
) -> int:
    """Enqueue the approved ones of ``approvals``; return how many were new to the outbox."""
    actions = [
        approval_action(
            approval_id=approval.approval_id,
            account_id=approval.account_id,
            action=approval.action,
            product_id=approval.product_id,
            payload=approval.payload,
            connector=connector_for(connectors, playbook, approval.action),
        )
        for approval in approvals
        if approval.status is ApprovalStatus.APPROVED
    ]
    return len(enqueue(connection, actions, now=now).inserted) if actions else 0


def queue_state(connection: Connection, *, now: datetime) -> QueueState:
    """Return the outbox counts and the age of the oldest item due at ``now``."""
    repository = OutboxRepository(connection)
    oldest = repository.oldest_due(now)
    age = None if oldest is None else max((now - oldest).total_seconds(), 0.0)
    return QueueState(outbox=repository.counts(), oldest_due_seconds=age)


def _rosters(
    playbook: Playbook,
    owners: pl.DataFrame,
    used: dict[str, int],
    absent: Iterable[str],
    teams: Iterable[str],
) -> dict[str, list[Teammate]]:
    """The rosters of ``teams`` (those routed work goes to)."""
    per_owner = {}
    for team in teams:
        limits = playbook.capacity.teams.get(team)
        per_owner[team] = limits.per_owner_per_day if limits is not None else None
    return rosters_of(owners, per_owner=per_owner, assigned_today=used, absent=absent)


def _request_approvals(
    uow: UnitOfWork,
    plan: ActionPlan,
    playbook: Playbook,
    playbook_version: int | None,
    now: datetime,
    ttl: timedelta,
) -> None:
    for proposed in plan.approvals:
        queue_service.request_approval(
            store=uow,
            actor=EXECUTION_ACTOR,
            account_id=proposed.account_id,
            action=proposed.action,
            payload=proposed.payload,
            expires_at=now + ttl,
            product_id=proposed.product_id,
            value=proposed.value,
            required_approvers=required_approvers(playbook, proposed.action, proposed.value),
            playbook_version=playbook_version,
            decision_id=proposed.decision_id,
            now=lambda: now,
        )
