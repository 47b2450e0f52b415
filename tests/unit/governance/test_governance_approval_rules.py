"""The approval rules: self-approval, four-eyes, edits and expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nextmove.errors import GovernanceError
from nextmove.governance import approval_rules as rules
from nextmove.governance.model import Approval, ApprovalStatus

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def approval(required: int = 1, **changes: object) -> Approval:
    base = Approval.model_validate(
        {
            "approval_id": 7,
            "account_id": "acct-1",
            "action": "sales_outreach",
            "product_id": "prod-1",
            "payload": {"discount": 0.1},
            "value": 12_000.0,
            "requested_by": "rita",
            "requested_at": NOW,
            "expires_at": NOW + timedelta(days=2),
            "required_approvers": required,
        }
    )
    return base.model_copy(update=changes)


def test_one_approver_completes_a_simple_request() -> None:
    done = rules.add_approver(approval(), "abe", NOW)
    assert done.status is ApprovalStatus.APPROVED
    assert done.approvers == ("abe",) and done.decided_by == "abe" and done.decided_at == NOW


def test_the_requester_never_approves_their_own() -> None:
    with pytest.raises(GovernanceError, match="rita requested approval 7 and cannot approve it"):
        rules.add_approver(approval(), "rita", NOW)


def test_four_eyes_needs_two_different_people() -> None:
    first = rules.add_approver(approval(required=2), "abe", NOW)
    assert first.status is ApprovalStatus.PENDING and first.approvers == ("abe",)
    with pytest.raises(GovernanceError, match="second, different approver"):
        rules.add_approver(first, "abe", NOW)
    second = rules.add_approver(first, "bea", NOW)
    assert second.status is ApprovalStatus.APPROVED and second.approvers == ("abe", "bea")
    assert second.decided_by == "bea"


@pytest.mark.parametrize(
    "status", [ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED]
)
def test_only_pending_requests_change(status: ApprovalStatus) -> None:
    closed = approval(status=status)
    with pytest.raises(GovernanceError, match=f"is {status}; only pending"):
        rules.add_approver(closed, "abe", NOW)
    with pytest.raises(GovernanceError):
        rules.rejected(closed, "abe", "no", NOW)
    with pytest.raises(GovernanceError):
        rules.edited(closed, {"discount": 0.2}, NOW)


def test_an_overdue_request_cannot_be_approved() -> None:
    overdue = approval(expires_at=NOW)
    assert rules.is_due(overdue, NOW)
    with pytest.raises(GovernanceError, match="expired at"):
        rules.add_approver(overdue, "abe", NOW)
    expired = rules.expired(overdue, NOW)
    assert expired.status is ApprovalStatus.EXPIRED and expired.decided_at == NOW


def test_a_request_that_is_not_due_cannot_be_expired() -> None:
    with pytest.raises(GovernanceError, match="not due"):
        rules.expired(approval(), NOW)


def test_a_rejection_needs_a_reason() -> None:
    with pytest.raises(GovernanceError, match="needs a reason"):
        rules.rejected(approval(), "abe", "  ", NOW)
    done = rules.rejected(approval(), "abe", " too generous ", NOW)
    assert done.status is ApprovalStatus.REJECTED and done.reason == "too generous"


def test_an_edit_voids_earlier_approvals_of_a_different_payload() -> None:
    half = rules.add_approver(approval(required=2), "abe", NOW)
    edited = rules.edited(half, {"discount": 0.05}, NOW)
    assert edited.payload == {"discount": 0.05} and edited.approvers == ()


def test_an_edit_that_changes_nothing_keeps_approvals() -> None:
    half = rules.add_approver(approval(required=2), "abe", NOW)
    assert rules.edited(half, {"discount": 0.1}, NOW) is half
    with pytest.raises(GovernanceError, match="at least one"):
        rules.edited(half, {}, NOW)


@pytest.mark.parametrize("required", [0, 3])
def test_requests_need_one_or_two_approvers(required: int) -> None:
    with pytest.raises(GovernanceError, match="1 or 2"):
        rules.check_request(
            expires_at=NOW + timedelta(days=1), required_approvers=required, now=NOW
        )


def test_requests_must_expire_in_the_future_with_a_time_zone() -> None:
    with pytest.raises(GovernanceError, match="not after now"):
        rules.check_request(expires_at=NOW, required_approvers=1, now=NOW)
    with pytest.raises(GovernanceError, match="time zone"):
        rules.check_request(expires_at=datetime(2027, 1, 1), required_approvers=1, now=NOW)
