"""The connector contract: a name, ``send(item) -> Receipt``, and ``close()``.

``send`` raises ``RetryableSendError`` when trying again later may work and
``PermanentSendError`` when it cannot; any other exception is treated as permanent (a
bug will not fix itself by retrying). A connector must send the same thing every time
it is given the same item: everything it sends derives from the stored item, never from
the clock, so the receiver can de-duplicate by ``item.idempotency_key``.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import JsonValue

from nextmove.execution.model import OutboxItem, Receipt, canonical_json

__all__ = ["Connector", "action_document", "document_body"]


class Connector(Protocol):
    """Hands outbox items to one outside system."""

    @property
    def name(self) -> str:
        """The connector's configured name (outbox items name it)."""
        ...

    def send(self, item: OutboxItem) -> Receipt:
        """Deliver ``item``; return what the receiver said."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


def action_document(item: OutboxItem) -> dict[str, JsonValue]:
    """Return the JSON document that describes ``item`` to a receiver."""
    return {
        "idempotency_key": item.idempotency_key,
        "decision_id": item.decision_id,
        "run_id": item.run_id,
        "account_id": item.account_id,
        "action": item.action,
        "product_id": item.product_id,
        "assignee": item.assignee,
        "routing_reason": item.routing_reason,
        "created_at": item.created_at.isoformat(),
        "payload": item.payload,
    }


def document_body(document: dict[str, JsonValue]) -> bytes:
    """Return ``document`` as the exact bytes sent (and signed): canonical UTF-8 JSON."""
    return canonical_json(document).encode("utf-8")
