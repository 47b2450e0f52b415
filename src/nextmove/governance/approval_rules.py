"""The rules of the approval queue. Pure: each function returns the changed approval.

Only pending approvals change, and never after they expire. The requester never
approves their own request; with four-eyes (two required approvers) the same person
never counts twice, and the request completes on the second distinct approver. An
edit changes what is being approved, so approvals given before it no longer count: the
editor becomes the first approver of the edited payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import JsonValue

from nextmove.errors import GovernanceError
from nextmove.governance.model import Approval, ApprovalStatus

__all__ = [
    "add_approver",
    "check_changeable",
    "check_request",
    "edited",
    "expired",
    "is_due",
    "rejected",
]


def check_request(*, expires_at: datetime, required_approvers: int, now: datetime) -> None:
    """Raise GovernanceError unless a new request could ever be approved."""
    if required_approvers not in (1, 2):
        raise GovernanceError(
            f"required_approvers must be 1 or 2 (four-eyes), got {required_approvers}"
        )
    if expires_at.tzinfo is None:
        raise GovernanceError(f"expires_at must carry a time zone, got {expires_at}")
    if expires_at <= now:
        raise GovernanceError(f"the request would expire at {expires_at}, which is not after now")


def is_due(approval: Approval, now: datetime) -> bool:
    """Return whether a pending approval has reached its expiry time."""
    return approval.status is ApprovalStatus.PENDING and approval.expires_at <= now


def check_changeable(approval: Approval, now: datetime) -> None:
    """Raise GovernanceError unless ``approval`` is pending and not yet expired."""
    if approval.status is not ApprovalStatus.PENDING:
        raise GovernanceError(
            f"approval {approval.approval_id} is {approval.status}; only pending ones can change"
        )
    if is_due(approval, now):
        raise GovernanceError(
            f"approval {approval.approval_id} expired at {approval.expires_at:%Y-%m-%d %H:%M} "
            "UTC; it can no longer be approved"
        )


def add_approver(approval: Approval, approver: str, now: datetime) -> Approval:
    """Return ``approval`` with ``approver``'s approval counted, approved once enough agree."""
    check_changeable(approval, now)
    if approver == approval.requested_by:
        raise GovernanceError(
            f"{approver} requested approval {approval.approval_id} and cannot approve it"
        )
    if approver in approval.approvers:
        raise GovernanceError(
            f"{approver} already approved {approval.approval_id}; "
            "a second, different approver is needed"
        )
    approvers = (*approval.approvers, approver)
    if len(approvers) < approval.required_approvers:
        return approval.model_copy(update={"approvers": approvers})
    return approval.model_copy(
        update={
            "approvers": approvers,
            "status": ApprovalStatus.APPROVED,
            "decided_by": approver,
            "decided_at": now,
        }
    )


def rejected(approval: Approval, by: str, reason: str, now: datetime) -> Approval:
    """Return ``approval`` rejected by ``by`` for ``reason`` (which must say something)."""
    check_changeable(approval, now)
    if not reason.strip():
        raise GovernanceError("a rejection needs a reason")
    return approval.model_copy(
        update={
            "status": ApprovalStatus.REJECTED,
            "decided_by": by,
            "decided_at": now,
            "reason": reason.strip(),
        }
    )


def edited(approval: Approval, changes: Mapping[str, JsonValue], now: datetime) -> Approval:
    """Return ``approval`` with ``changes`` merged into its payload, earlier approvals void.

    Unchanged payloads keep their approvals: an edit that changes nothing is no edit.
    """
    check_changeable(approval, now)
    if not changes:
        raise GovernanceError("an edit needs at least one payload change")
    payload = {**approval.payload, **changes}
    if payload == approval.payload:
        return approval
    return approval.model_copy(update={"payload": payload, "approvers": ()})


def expired(approval: Approval, now: datetime) -> Approval:
    """Return a due ``approval`` marked expired at ``now``."""
    if not is_due(approval, now):
        raise GovernanceError(f"approval {approval.approval_id} is not due to expire")
    return approval.model_copy(update={"status": ApprovalStatus.EXPIRED, "decided_at": now})
