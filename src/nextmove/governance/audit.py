"""The audit hash chain. Pure: canonical content, entry hashes, and verification.

Each entry's hash is ``sha256(prev_hash + "\\n" + canonical JSON of its content)``, where
the content is every stored column but the two hashes, *including* its sequence number.
So an edited entry no longer matches its hash, a deleted one leaves a gap in the
sequence, and a reordered one no longer links to its predecessor. Deleting the newest
entries leaves a shorter, valid chain: keep the reported ``head_hash`` somewhere else
(a ticket, a commit) to detect that too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from pydantic import JsonValue

from nextmove.governance.model import AuditEntry, AuditVerification

__all__ = [
    "GENESIS_HASH",
    "canonical_json",
    "chained_entry",
    "entry_content",
    "entry_hash",
    "next_entry",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first entry."""


def canonical_json(value: JsonValue) -> str:
    """Return ``value`` as JSON with sorted keys and no spaces: one text per meaning."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_content(entry: AuditEntry) -> dict[str, JsonValue]:
    """Return what an entry's hash covers: every field but ``prev_hash`` and ``hash``."""
    return {
        "seq": entry.seq,
        "occurred_at": entry.occurred_at.astimezone(UTC).isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "details": entry.details,
        "playbook_version": entry.playbook_version,
    }


def entry_hash(prev_hash: str, content: Mapping[str, JsonValue]) -> str:
    """Return the hex SHA-256 chaining ``content`` to the entry before it."""
    text = prev_hash + "\n" + canonical_json(dict(content))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def next_entry(
    previous: AuditEntry | None,
    *,
    occurred_at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, JsonValue],
    playbook_version: int | None,
) -> AuditEntry:
    """Return the entry that follows ``previous`` (or starts the chain), hash included."""
    return chained_entry(
        None if previous is None else (previous.seq, previous.hash),
        occurred_at=occurred_at,
        actor=actor,
        action=action,
        subject=subject,
        details=details,
        playbook_version=playbook_version,
    )


def chained_entry(
    head: tuple[int, str] | None,
    *,
    occurred_at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, JsonValue],
    playbook_version: int | None,
) -> AuditEntry:
    """Return the entry that follows the one whose (seq, hash) is ``head`` (None: it starts
    the chain), hash included: as :func:`next_entry`, from the two values it needs."""
    prev_hash = head[1] if head else GENESIS_HASH
    unsealed = AuditEntry(
        seq=head[0] + 1 if head else 1,
        occurred_at=occurred_at.astimezone(UTC),
        actor=actor,
        action=action,
        subject=subject,
        details=canonical_json(dict(details)),
        playbook_version=playbook_version,
        prev_hash=prev_hash,
        hash="",
    )
    return unsealed.model_copy(update={"hash": entry_hash(prev_hash, entry_content(unsealed))})


def verify_chain(entries: Iterable[AuditEntry]) -> AuditVerification:
    """Walk ``entries`` in sequence order and report the first one that breaks the chain."""
    previous: AuditEntry | None = None
    checked = 0
    for entry in entries:
        problem = _problem(entry, previous)
        if problem is not None:
            return AuditVerification(
                ok=False,
                checked=checked,
                first_broken_seq=entry.seq,
                reason=problem,
                head_hash=previous.hash if previous else None,
            )
        previous, checked = entry, checked + 1
    return AuditVerification(
        ok=True, checked=checked, head_hash=previous.hash if previous else None
    )


def _problem(entry: AuditEntry, previous: AuditEntry | None) -> str | None:
    expected_seq = previous.seq + 1 if previous else 1
    if entry.seq > expected_seq:
        missing = (
            f"entry {expected_seq} is"
            if entry.seq == expected_seq + 1
            else f"entries {expected_seq}–{entry.seq - 1} are"
        )
        return f"{missing} missing (deleted?)"
    if entry.seq < expected_seq:
        return f"entry {entry.seq} is out of order (expected {expected_seq})"
    expected_prev = previous.hash if previous else GENESIS_HASH
    if entry.prev_hash != expected_prev:
        before = f"entry {previous.seq}" if previous else "the genesis value"
        return f"its prev_hash does not match {before} (entries reordered or rewritten)"
    if entry.hash != entry_hash(entry.prev_hash, entry_content(entry)):
        return "its content does not match its hash (edited after it was written)"
    return None
