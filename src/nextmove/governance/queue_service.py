"""Use cases of the two human queues: approvals of proposed actions, and exceptions.

Same conventions as ``service``: keyword-only, ``store`` is an engine or the caller's
unit of work, ``now`` is the clock, and each change is audited in its own transaction.
The approval rules themselves (self-approval, four-eyes, expiry) are pure, in
``approval_rules``.

A rep works only its own accounts: it sees and acts on the approvals of accounts owned
by the CRM owner it works as (``Actor.owner_id``), and none without one. Every other
role sees every approval. An approval outside the actor's accounts is NotFound, exactly
like one that does not exist, so its existence is not revealed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import JsonValue, ValidationError
from sqlalchemy import Connection

from nextmove.errors import GovernanceError, NotFound
from nextmove.governance import approval_rules
from nextmove.governance.access import require
from nextmove.governance.model import (
    Actor,
    Approval,
    ApprovalStatus,
    ExceptionItem,
    ExceptionKind,
    ExceptionStatus,
    Permission,
    Role,
)
from nextmove.governance.repository import (
    ApprovalRepository,
    AuditRepository,
    ExceptionRepository,
)
from nextmove.governance.service import SYSTEM_ACTOR, Clock, Store, record_audit, transaction

__all__ = [
    "approve",
    "edit_and_approve",
    "expire_due",
    "get_approval",
    "get_exception",
    "list_approvals",
    "list_exceptions",
    "open_exception",
    "reject",
    "request_approval",
    "resolve_exception",
]

# --- approvals ----------------------------------------------------------------------


def request_approval(
    *,
    store: Store,
    actor: Actor,
    account_id: str,
    action: str,
    payload: Mapping[str, JsonValue],
    expires_at: datetime,
    product_id: str | None = None,
    value: float | None = None,
    required_approvers: int = 1,
    playbook_version: int | None = None,
    decision_id: int | None = None,
    now: Clock,
) -> Approval:
    """Queue a proposed action for people to approve; return the pending request.

    ``required_approvers`` is 1, or 2 for four-eyes (two distinct approvers);
    ``decision_id`` names the stored decision the engine asks approval for.
    """
    require(actor, Permission.REQUEST_APPROVAL)
    at = now()
    approval_rules.check_request(
        expires_at=expires_at, required_approvers=required_approvers, now=at
    )
    with transaction(store) as connection:
        version = (
            playbook_version
            if playbook_version is not None
            else AuditRepository(connection).latest_playbook_version()
        )
        draft = _draft(
            {
                "approval_id": 0,
                "account_id": account_id,
                "action": action,
                "product_id": product_id,
                "payload": dict(payload),
                "value": value,
                "requested_by": actor.user_id,
                "requested_at": at,
                "expires_at": expires_at,
                "required_approvers": required_approvers,
                "playbook_version": version,
                "decision_id": decision_id,
            }
        )
        approval_id = ApprovalRepository(connection).add(draft)
        approval = draft.model_copy(update={"approval_id": approval_id})
        _audit_approval(connection, actor, "approval.request", approval, at, _summary(approval))
    return approval


def _draft(values: dict[str, object]) -> Approval:
    try:
        return Approval.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise GovernanceError(f"invalid approval request: {problems}") from exc


def approve(*, store: Store, actor: Actor, approval_id: int, now: Clock) -> Approval:
    """Count ``actor``'s approval; the request is approved once enough distinct people agree."""
    require(actor, Permission.APPROVE)
    at = now()
    with transaction(store) as connection:
        approvals = ApprovalRepository(connection)
        changed = approval_rules.add_approver(
            _locked_approval(approvals, approval_id, actor), actor.user_id, at
        )
        approvals.save(changed)
        _audit_approval(connection, actor, "approval.approve", changed, at, _progress(changed))
    return changed


def reject(*, store: Store, actor: Actor, approval_id: int, reason: str, now: Clock) -> Approval:
    """Reject a pending request; ``reason`` is required and recorded."""
    require(actor, Permission.APPROVE)
    at = now()
    with transaction(store) as connection:
        approvals = ApprovalRepository(connection)
        changed = approval_rules.rejected(
            _locked_approval(approvals, approval_id, actor), actor.user_id, reason, at
        )
        approvals.save(changed)
        details: dict[str, JsonValue] = {"reason": changed.reason}
        _audit_approval(connection, actor, "approval.reject", changed, at, details)
    return changed


def edit_and_approve(
    *,
    store: Store,
    actor: Actor,
    approval_id: int,
    payload_changes: Mapping[str, JsonValue],
    now: Clock,
) -> Approval:
    """Change a pending request's payload, then count ``actor``'s approval of the result.

    The audit keeps the payload before and after. Approvals given before a real change
    no longer count (they approved something else).
    """
    require(actor, Permission.APPROVE)
    at = now()
    with transaction(store) as connection:
        approvals = ApprovalRepository(connection)
        before = _locked_approval(approvals, approval_id, actor)
        edited = approval_rules.edited(before, payload_changes, at)
        changed = approval_rules.add_approver(edited, actor.user_id, at)
        approvals.save(changed)
        if edited is not before:
            edit: dict[str, JsonValue] = {
                "before": before.payload,
                "after": edited.payload,
                "voided_approvers": list(before.approvers),
            }
            _audit_approval(connection, actor, "approval.edit", edited, at, edit)
        _audit_approval(connection, actor, "approval.approve", changed, at, _progress(changed))
    return changed


def expire_due(*, store: Store, now: Clock) -> list[Approval]:
    """Mark every pending request whose expiry has come as expired; return them.

    Housekeeping the rules require, so no acting user: the audit records ``system``.
    """
    at = now()
    with transaction(store) as connection:
        approvals = ApprovalRepository(connection)
        expired = [approval_rules.expired(item, at) for item in approvals.due(at)]
        for item in expired:
            approvals.save(item)
            details: dict[str, JsonValue] = {"expires_at": item.expires_at.isoformat()}
            _audit_approval(connection, SYSTEM_ACTOR, "approval.expire", item, at, details)
    return expired


def list_approvals(
    *, store: Store, actor: Actor, status: ApprovalStatus | None = None, limit: int = 100
) -> list[Approval]:
    """Return the approval requests ``actor`` may see (of one status, or all), oldest first."""
    require(actor, Permission.VIEW)
    with transaction(store) as connection:
        return ApprovalRepository(connection).listed(
            status, limit, owned_by=_owners_visible_to(actor)
        )


def get_approval(*, store: Store, actor: Actor, approval_id: int) -> Approval:
    """Return one approval request; NotFound when there is none ``actor`` may see."""
    require(actor, Permission.VIEW)
    with transaction(store) as connection:
        found = ApprovalRepository(connection).get(approval_id, owned_by=_owners_visible_to(actor))
    if found is None:
        raise NotFound(f"no approval {approval_id}")
    return found


def _owners_visible_to(actor: Actor) -> frozenset[str] | None:
    """Return the CRM owners whose accounts' approvals ``actor`` may see; None for all.

    Only a rep is narrowed: to the owner it works as, or to nothing when it has none.
    """
    if actor.role is not Role.REP:
        return None
    return frozenset({actor.owner_id}) if actor.owner_id else frozenset()


def _locked_approval(approvals: ApprovalRepository, approval_id: int, actor: Actor) -> Approval:
    found = approvals.get(approval_id, owned_by=_owners_visible_to(actor), for_update=True)
    if found is None:
        raise NotFound(f"no approval {approval_id}")
    return found


def _summary(approval: Approval) -> dict[str, JsonValue]:
    return {
        "account_id": approval.account_id,
        "action": approval.action,
        "product_id": approval.product_id,
        "payload": approval.payload,
        "value": approval.value,
        "expires_at": approval.expires_at.isoformat(),
        "required_approvers": approval.required_approvers,
    }


def _progress(approval: Approval) -> dict[str, JsonValue]:
    return {
        "approvers": list(approval.approvers),
        "required_approvers": approval.required_approvers,
        "status": approval.status.value,
    }


def _audit_approval(
    connection: Connection,
    actor: Actor | str,
    action: str,
    approval: Approval,
    at: datetime,
    details: dict[str, JsonValue],
) -> None:
    record_audit(
        connection,
        actor=actor,
        action=action,
        subject=f"approval:{approval.approval_id}",
        details=details,
        occurred_at=at,
        playbook_version=approval.playbook_version,
    )


# --- exceptions ---------------------------------------------------------------------


def open_exception(
    *,
    store: Store,
    actor: Actor,
    kind: ExceptionKind,
    summary: str,
    owner: str,
    details: Mapping[str, JsonValue] | None = None,
    account_id: str | None = None,
    now: Clock,
) -> ExceptionItem:
    """Queue something the system will not decide alone, for ``owner`` to resolve."""
    require(actor, Permission.OPEN_EXCEPTION)
    if not summary.strip() or not owner.strip():
        raise GovernanceError("an exception needs a summary and an owner")
    at = now()
    with transaction(store) as connection:
        draft = ExceptionItem(
            exception_id=0,
            kind=kind,
            account_id=account_id,
            summary=summary.strip(),
            details=dict(details or {}),
            owner=owner.strip(),
            status=ExceptionStatus.OPEN,
            created_at=at,
        )
        item = draft.model_copy(update={"exception_id": ExceptionRepository(connection).add(draft)})
        details = item.model_dump(mode="json")
        _audit_exception(connection, actor, "exception.open", item, details, at)
    return item


def resolve_exception(
    *, store: Store, actor: Actor, exception_id: int, resolution: str, now: Clock
) -> ExceptionItem:
    """Close an open exception with what was done about it (required)."""
    require(actor, Permission.RESOLVE_EXCEPTION)
    if not resolution.strip():
        raise GovernanceError("resolving an exception needs a resolution")
    at = now()
    with transaction(store) as connection:
        exceptions = ExceptionRepository(connection)
        item = exceptions.get(exception_id, for_update=True)
        if item is None:
            raise NotFound(f"no exception {exception_id}")
        if item.status is not ExceptionStatus.OPEN:
            raise GovernanceError(f"exception {exception_id} is already {item.status}")
        resolved = item.model_copy(
            update={
                "status": ExceptionStatus.RESOLVED,
                "resolved_at": at,
                "resolved_by": actor.user_id,
                "resolution": resolution.strip(),
            }
        )
        exceptions.resolve(resolved)
        details: dict[str, JsonValue] = {"resolution": resolved.resolution, "owner": item.owner}
        _audit_exception(connection, actor, "exception.resolve", resolved, details, at)
    return resolved


def list_exceptions(
    *,
    store: Store,
    actor: Actor,
    status: ExceptionStatus | None = None,
    owner: str | None = None,
    limit: int = 100,
) -> list[ExceptionItem]:
    """Return exceptions (filtered by status and owner), oldest first."""
    require(actor, Permission.VIEW)
    with transaction(store) as connection:
        return ExceptionRepository(connection).listed(status, owner, limit)


def get_exception(*, store: Store, actor: Actor, exception_id: int) -> ExceptionItem:
    """Return one exception; NotFound when there is none."""
    require(actor, Permission.VIEW)
    with transaction(store) as connection:
        found = ExceptionRepository(connection).get(exception_id)
    if found is None:
        raise NotFound(f"no exception {exception_id}")
    return found


def _audit_exception(
    connection: Connection,
    actor: Actor,
    action: str,
    item: ExceptionItem,
    details: dict[str, JsonValue],
    at: datetime,
) -> None:
    record_audit(
        connection,
        actor=actor,
        action=action,
        subject=f"exception:{item.exception_id}",
        details=details,
        occurred_at=at,
    )
