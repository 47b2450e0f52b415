"""A factory of outbox items for the execution unit tests."""

from __future__ import annotations

from datetime import UTC, datetime

from nextmove.execution import OutboxItem, OutboxStatus


def outbox_item(**changes: object) -> OutboxItem:
    """Return a claimed outbox item; ``changes`` override its fields."""
    values: dict[str, object] = {
        "outbox_id": 1,
        "decision_id": 42,
        "run_id": 3,
        "account_id": "acct-42",
        "action": "service_conversation",
        "product_id": "prod-premium-support",
        "connector": "crm",
        "assignee": "005OWNER",
        "routing_reason": "owner ana is absent; reassigned to 005OWNER",
        "idempotency_key": "nm-aaaa",
        "payload": {"reasons": "usage dropped 40%"},
        "status": OutboxStatus.SENDING,
        "attempts": 1,
        "next_attempt_at": None,
        "last_error": None,
        "receipt": None,
        "exception_id": None,
        "created_at": datetime(2026, 11, 2, 23, 30, tzinfo=UTC),
        "claimed_at": None,
        "sent_at": None,
    }
    values.update(changes)
    return OutboxItem.model_validate(values)
