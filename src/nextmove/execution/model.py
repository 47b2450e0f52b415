"""Types of the execution part: outbox items, what is enqueued, receipts, reports."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, JsonValue

__all__ = [
    "DispatchReport",
    "EnqueueResult",
    "NewAction",
    "OutboxItem",
    "OutboxStatus",
    "Receipt",
    "canonical_json",
    "idempotency_key",
]


class OutboxStatus(StrEnum):
    """Where an outbox item stands.

    ``pending`` waits for its first send; ``sending`` is claimed by a dispatcher (and is
    due again once its lease runs out, which is how a crash mid-send is recovered);
    ``failed`` waits for a retry; ``sent`` and ``dead`` are final.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"


def canonical_json(value: object) -> str:
    """Return ``value`` as compact JSON with sorted keys: the same value, the same text."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def idempotency_key(source: str, connector: str) -> str:
    """Return the idempotency key of ``source`` (e.g. ``decision:42``) sent via ``connector``.

    Deterministic, so enqueueing the same thing twice finds the first row; a hash, so it
    fits any header, file column or Message-ID.
    """
    digest = hashlib.sha256(f"{source}\x1f{connector}".encode()).hexdigest()
    return f"nm-{digest[:40]}"


@dataclass(frozen=True, slots=True)
class NewAction:
    """An action to enqueue; ``source`` names what asked for it when no decision did."""

    account_id: str
    action: str
    connector: str
    payload: Mapping[str, JsonValue]
    decision_id: int | None = None
    source: str | None = None
    run_id: int | None = None
    product_id: str | None = None
    assignee: str | None = None
    routing_reason: str | None = None

    def key(self) -> str:
        """Return this action's idempotency key."""
        if self.decision_id is not None:
            return idempotency_key(f"decision:{self.decision_id}", self.connector)
        if not self.source:
            raise ValueError("an action without a decision needs a source to key it by")
        return idempotency_key(self.source, self.connector)


class OutboxItem(BaseModel):
    """One stored outbox row; ``payload`` is exactly what was fixed at enqueue time."""

    model_config = ConfigDict(frozen=True)

    outbox_id: int
    decision_id: int | None
    run_id: int | None
    account_id: str
    action: str
    product_id: str | None
    connector: str
    assignee: str | None
    routing_reason: str | None
    idempotency_key: str
    payload: dict[str, JsonValue]
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    receipt: dict[str, JsonValue] | None
    exception_id: int | None
    created_at: datetime
    claimed_at: datetime | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a connector got back: a reference the receiver gave, and details to keep."""

    reference: str | None = None
    details: Mapping[str, JsonValue] = field(default_factory=dict)

    def as_json(self) -> dict[str, JsonValue]:
        """Return the receipt as stored on the outbox row."""
        return {"reference": self.reference, "details": dict(self.details)}


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    """How an enqueue landed: keys newly written, and how many were already there."""

    inserted: tuple[str, ...]
    duplicates: int


@dataclass(slots=True)
class DispatchReport:
    """What one dispatch pass did.

    ``stopped`` counts due items left alone per kill-switched action, ``deferred`` due
    items left for a later pass per connector (rate limit or batch size), and
    ``unknown_connector`` due items naming a connector that is not configured.
    """

    sent: int = 0
    retrying: int = 0
    dead: int = 0
    lost_lease: int = 0
    stopped: dict[str, int] = field(default_factory=dict)
    deferred: dict[str, int] = field(default_factory=dict)
    unknown_connector: dict[str, int] = field(default_factory=dict)
    exceptions: list[int] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        """Items this pass claimed and tried to send."""
        return self.sent + self.retrying + self.dead + self.lost_lease
