"""The Engine's governance calls: users, audit, kill switches, approvals and exceptions.

A mixin of :class:`nextmove.Engine`, kept apart so the facade stays readable. Every
call acts as the Engine's authenticated user, and the services check its role.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from pydantic import JsonValue
from sqlalchemy import Engine as SqlEngine

from nextmove.governance import queue_service, service
from nextmove.governance.autonomy import required_approvers as required_approvers_for
from nextmove.governance.model import (
    Actor,
    Approval,
    ApprovalStatus,
    AuditEntry,
    AuditVerification,
    ExceptionItem,
    ExceptionKind,
    ExceptionStatus,
    KillScope,
    KillSwitch,
    Role,
    User,
)
from nextmove.playbook import service as playbook_service
from nextmove.playbook.loader import load_playbook
from nextmove.store import UnitOfWork

__all__ = ["GovernanceCalls"]


class GovernanceCalls:
    """Users, audit, kill switches, approvals and exceptions, as the acting user."""

    _database: SqlEngine
    _clock: Callable[[], datetime]

    def identity(self) -> Actor:  # provided by Engine
        raise NotImplementedError

    def _enqueue_if_approved(self, uow: UnitOfWork, approval: Approval) -> None:
        raise NotImplementedError  # provided by ExecutionCalls

    # users -----------------------------------------------------------------------
    def bootstrap_admin(self, user_id: str, name: str) -> tuple[User, str]:
        """Create the first admin of an empty installation; return it and its token."""
        return service.bootstrap_admin(
            store=self._database, user_id=user_id, name=name, now=self._clock
        )

    def add_user(
        self, user_id: str, name: str, role: Role, *, owner_id: str | None = None
    ) -> tuple[User, str]:
        """Add a user (working as CRM owner ``owner_id``, if any); return it and its token."""
        return service.add_user(
            store=self._database,
            actor=self.identity(),
            user_id=user_id,
            name=name,
            role=role,
            owner_id=owner_id,
            now=self._clock,
        )

    def deactivate_user(self, user_id: str) -> User:
        """Deactivate a user; its token stops working."""
        return service.deactivate_user(
            store=self._database, actor=self.identity(), user_id=user_id, now=self._clock
        )

    def users(self) -> list[User]:
        """Return every user (never a token)."""
        return service.list_users(store=self._database, actor=self.identity())

    def rotate_token(self, user_id: str | None = None) -> str:
        """Give a user (default: the acting one) a new token and return it."""
        return service.rotate_token(
            store=self._database, actor=self.identity(), user_id=user_id, now=self._clock
        )

    # audit -----------------------------------------------------------------------
    def audit_entries(self, *, limit: int = 50, action: str | None = None) -> list[AuditEntry]:
        """Return the newest audit entries."""
        return service.audit_entries(
            store=self._database, actor=self.identity(), limit=limit, action=action
        )

    def verify_audit(self) -> AuditVerification:
        """Check the audit log's hash chain from the first entry to the last."""
        return service.verify_audit(store=self._database, actor=self.identity())

    # kill switches ---------------------------------------------------------------
    def engage_kill_switch(
        self, scope: KillScope, target: str | None = None, *, reason: str
    ) -> KillSwitch:
        """Stop everything, a motion or an action from the next decision on."""
        return service.engage_kill_switch(
            store=self._database,
            actor=self.identity(),
            scope=scope,
            target=target,
            reason=reason,
            now=self._clock,
        )

    def release_kill_switch(
        self, scope: KillScope, target: str | None = None, *, reason: str = ""
    ) -> KillSwitch:
        """Release a kill switch."""
        return service.release_kill_switch(
            store=self._database,
            actor=self.identity(),
            scope=scope,
            target=target,
            reason=reason,
            now=self._clock,
        )

    def kill_switches(self) -> list[KillSwitch]:
        """Return the engaged kill switches, read fresh."""
        return service.active_kill_switches(store=self._database, actor=self.identity())

    # approvals -------------------------------------------------------------------
    def request_approval(
        self,
        *,
        account_id: str,
        action: str,
        payload: Mapping[str, JsonValue],
        expires_at: datetime,
        product_id: str | None = None,
        value: float | None = None,
        required_approvers: int | None = None,
        playbook_version: int | None = None,
    ) -> Approval:
        """Put a proposed action in the approvals queue; two approvers for four-eyes.

        Without ``required_approvers`` the active playbook decides: two when ``value`` is
        above the action's ``four_eyes_above`` (or the section's), else one.
        """
        if required_approvers is None:
            required_approvers, active_version = self._four_eyes(action, value)
            playbook_version = playbook_version or active_version
        return queue_service.request_approval(
            store=self._database,
            actor=self.identity(),
            account_id=account_id,
            action=action,
            payload=payload,
            expires_at=expires_at,
            product_id=product_id,
            value=value,
            required_approvers=required_approvers,
            playbook_version=playbook_version,
            now=self._clock,
        )

    def _four_eyes(self, action: str, value: float | None) -> tuple[int, int | None]:
        active = playbook_service.active(engine=self._database)
        if active is None:
            return 1, None
        playbook = load_playbook(active.content).playbook
        return required_approvers_for(playbook, action, value), active.version

    def approve(self, approval_id: int) -> Approval:
        """Approve a pending action (never one you requested).

        Once approved, the action is in the outbox, written in the same transaction.
        """
        with UnitOfWork(self._database) as uow:
            approval = queue_service.approve(
                store=uow, actor=self.identity(), approval_id=approval_id, now=self._clock
            )
            self._enqueue_if_approved(uow, approval)
            uow.commit()
        return approval

    def reject(self, approval_id: int, reason: str) -> Approval:
        """Reject a pending action, with a reason."""
        return queue_service.reject(
            store=self._database,
            actor=self.identity(),
            approval_id=approval_id,
            reason=reason,
            now=self._clock,
        )

    def edit_and_approve(self, approval_id: int, changes: Mapping[str, JsonValue]) -> Approval:
        """Change a pending action's payload, then approve it (and enqueue it once approved)."""
        with UnitOfWork(self._database) as uow:
            approval = queue_service.edit_and_approve(
                store=uow,
                actor=self.identity(),
                approval_id=approval_id,
                payload_changes=dict(changes),
                now=self._clock,
            )
            self._enqueue_if_approved(uow, approval)
            uow.commit()
        return approval

    def expire_approvals(self) -> list[Approval]:
        """Expire pending approvals past their deadline; return them."""
        return queue_service.expire_due(store=self._database, now=self._clock)

    def approvals(self, status: ApprovalStatus | None = None, limit: int = 100) -> list[Approval]:
        """Return the approvals the acting user may see (a rep: its accounts'), of a status."""
        return queue_service.list_approvals(
            store=self._database, actor=self.identity(), status=status, limit=limit
        )

    def approval(self, approval_id: int) -> Approval:
        """Return one approval; NotFound when the acting user may not see it."""
        return queue_service.get_approval(
            store=self._database, actor=self.identity(), approval_id=approval_id
        )

    # exceptions ------------------------------------------------------------------
    def open_exception(
        self,
        kind: ExceptionKind,
        summary: str,
        owner: str,
        *,
        details: Mapping[str, JsonValue] | None = None,
        account_id: str | None = None,
    ) -> ExceptionItem:
        """Put something the system will not decide alone in the exceptions queue."""
        return queue_service.open_exception(
            store=self._database,
            actor=self.identity(),
            kind=kind,
            summary=summary,
            owner=owner,
            details=dict(details) if details else None,
            account_id=account_id,
            now=self._clock,
        )

    def resolve_exception(self, exception_id: int, resolution: str) -> ExceptionItem:
        """Resolve an open exception."""
        return queue_service.resolve_exception(
            store=self._database,
            actor=self.identity(),
            exception_id=exception_id,
            resolution=resolution,
            now=self._clock,
        )

    def exceptions(
        self, status: ExceptionStatus | None = None, owner: str | None = None, limit: int = 100
    ) -> list[ExceptionItem]:
        """Return exceptions, optionally filtered."""
        return queue_service.list_exceptions(
            store=self._database, actor=self.identity(), status=status, owner=owner, limit=limit
        )

    def exception(self, exception_id: int) -> ExceptionItem:
        """Return one exception."""
        return queue_service.get_exception(
            store=self._database, actor=self.identity(), exception_id=exception_id
        )
