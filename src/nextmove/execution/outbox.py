"""Use cases of the outbox: enqueue actions in the caller's transaction, and read them.

An action is written in the same transaction as the decision (or approval) that asks
for it, so either both land or neither does; it leaves through a connector only after
that commit, when a dispatcher picks it up (see ``dispatcher``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import JsonValue
from sqlalchemy import Connection

from nextmove.execution.errors import ExecutionError
from nextmove.execution.model import (
    EnqueueResult,
    NewAction,
    OutboxItem,
    OutboxStatus,
    canonical_json,
)
from nextmove.execution.repository import OutboxRepository
from nextmove.execution.routing import Assignment

__all__ = ["action_for_decision", "enqueue", "get_outbox_item", "list_outbox", "outbox_counts"]

_DECISION_FIELDS = (
    "expected_value",
    "score",
    "uplift",
    "confidence",
    "propensity",
    "autonomy",
    "owner_id",
    "playbook_version",
    "model_version",
)


def enqueue(
    connection: Connection,
    actions: Iterable[NewAction],
    *,
    now: datetime,
    not_before: datetime | None = None,
) -> EnqueueResult:
    """Write actions to the outbox inside the caller's transaction; return what was new.

    An action whose idempotency key is already stored is skipped, so enqueueing again
    (a retried run, a replay) is a no-op. The payload is frozen here as canonical JSON.
    Items become due at ``not_before`` (default ``now``).
    """
    rows: dict[str, dict[str, Any]] = {}
    given = 0
    for action in actions:
        given += 1
        key = action.key()
        if key in rows:
            continue
        try:
            payload = canonical_json(dict(action.payload))
        except (TypeError, ValueError) as exc:
            raise ExecutionError(
                f"the payload of {action.action} for {action.account_id} is not plain JSON: {exc}"
            ) from exc
        rows[key] = {
            "decision_id": action.decision_id,
            "run_id": action.run_id,
            "account_id": action.account_id,
            "action": action.action,
            "product_id": action.product_id,
            "connector": action.connector,
            "assignee": action.assignee,
            "routing_reason": action.routing_reason,
            "idempotency_key": key,
            "payload": payload,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": not_before or now,
            "created_at": now,
        }
    inserted = OutboxRepository(connection).add_new(list(rows.values()))
    return EnqueueResult(inserted=tuple(inserted), duplicates=given - len(inserted))


def action_for_decision(
    decision: Mapping[str, Any],
    *,
    connector: str,
    assignment: Assignment | None = None,
    extra: Mapping[str, JsonValue] | None = None,
) -> NewAction:
    """Return the outbox action for one stored decision (a row of ``decisions``).

    The payload carries the decision's numbers, versions and reasons, plus ``extra``
    (for example the recipient address an email connector needs).
    """
    payload: dict[str, JsonValue] = {
        name: decision[name] for name in _DECISION_FIELDS if name in decision
    }
    as_of = decision.get("as_of")
    if isinstance(as_of, datetime):
        payload["as_of"] = as_of.isoformat()
    reasons = decision.get("reasons")
    if isinstance(reasons, str):
        try:
            payload["reasons"] = json.loads(reasons)
        except json.JSONDecodeError:
            payload["reasons"] = reasons
    payload.update(extra or {})
    run_id = decision.get("run_id")
    return NewAction(
        account_id=str(decision["account_id"]),
        action=str(decision["action"]),
        connector=connector,
        payload=payload,
        decision_id=int(decision["decision_id"]),
        run_id=int(run_id) if run_id is not None else None,
        product_id=decision.get("product_id"),
        assignee=assignment.assignee if assignment else decision.get("owner_id"),
        routing_reason=assignment.reason if assignment else None,
    )


def list_outbox(
    connection: Connection,
    *,
    status: OutboxStatus | None = None,
    account_id: str | None = None,
    limit: int = 100,
    after_id: int | None = None,
) -> list[OutboxItem]:
    """Return outbox items (of one status and/or account, after ``after_id``), oldest first."""
    return OutboxRepository(connection).listed(
        status=status, account_id=account_id, limit=limit, after_id=after_id
    )


def get_outbox_item(connection: Connection, *, key: str) -> OutboxItem | None:
    """Return the item with idempotency key ``key``, or None."""
    return OutboxRepository(connection).by_key(key)


def outbox_counts(connection: Connection) -> dict[OutboxStatus, int]:
    """Return how many outbox items are in each status."""
    return OutboxRepository(connection).counts()
