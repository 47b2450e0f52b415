"""Types of the governance part: roles, permissions, users, audit, kill switches, queues."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = [
    "GLOBAL_TARGET",
    "USER_ID_PATTERN",
    "Actor",
    "Approval",
    "ApprovalStatus",
    "AuditEntry",
    "AuditVerification",
    "ExceptionItem",
    "ExceptionKind",
    "ExceptionStatus",
    "KillScope",
    "KillSwitch",
    "Permission",
    "Role",
    "User",
]

GLOBAL_TARGET = "*"
"""The target of the global kill switch (its table key needs one)."""

USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"


class Role(StrEnum):
    """What a user is for; ``governance.access`` maps each role to its permissions."""

    ADMIN = "admin"
    OPS = "ops"
    STEWARD = "steward"
    APPROVER = "approver"
    REP = "rep"
    VIEWER = "viewer"


class Permission(StrEnum):
    """An operation the engine guards; one per kind of thing a person may be trusted with."""

    VIEW = "view"
    VIEW_AUDIT = "view_audit"
    VERIFY_AUDIT = "verify_audit"
    IMPORT_DATA = "import_data"
    APPLY_PLAYBOOK = "apply_playbook"
    DECIDE = "decide"
    LEARN = "learn"
    RECORD_OUTCOMES = "record_outcomes"
    REQUEST_APPROVAL = "request_approval"
    APPROVE = "approve"
    ENGAGE_KILL_SWITCH = "engage_kill_switch"
    RELEASE_KILL_SWITCH = "release_kill_switch"
    RESTORE_AUTONOMY = "restore_autonomy"
    OPEN_EXCEPTION = "open_exception"
    RESOLVE_EXCEPTION = "resolve_exception"
    MANAGE_USERS = "manage_users"


class Actor(BaseModel):
    """An authenticated user acting now: who, with which role, and as which CRM owner.

    ``owner_id`` is the CRM owner the user works as (None when it works as nobody's); a
    rep sees and works only the approvals of that owner's accounts.
    """

    model_config = ConfigDict(frozen=True)

    user_id: str
    role: Role
    owner_id: str | None = None

    def __str__(self) -> str:
        return f"{self.user_id} ({self.role})"


class User(BaseModel):
    """A person (or program) allowed to act; the token hash never leaves the repository."""

    model_config = ConfigDict(frozen=True)

    user_id: str = Field(pattern=USER_ID_PATTERN)
    name: str = Field(min_length=1, max_length=300)
    role: Role
    active: bool
    created_at: datetime
    created_by: str | None
    owner_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="the CRM owner (``owners.owner_id``) this user works as, if any",
    )

    def as_actor(self) -> Actor:
        """Return this user as an acting identity."""
        return Actor(user_id=self.user_id, role=self.role, owner_id=self.owner_id)


class AuditEntry(BaseModel):
    """One link of the hash-chained audit log; ``details`` is canonical JSON text."""

    model_config = ConfigDict(frozen=True)

    seq: int
    occurred_at: datetime
    actor: str
    action: str
    subject: str
    details: str
    playbook_version: int | None
    prev_hash: str
    hash: str


class AuditVerification(BaseModel):
    """The result of walking the audit chain from its first entry."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    checked: int = Field(description="entries found intact (all of them when ok)")
    first_broken_seq: int | None = None
    reason: str | None = None
    head_hash: str | None = Field(
        default=None,
        description="hash of the last entry; note it elsewhere to detect truncation later",
    )


class KillScope(StrEnum):
    """How much a kill switch stops: everything, one motion, or one action."""

    GLOBAL = "global"
    MOTION = "motion"
    ACTION = "action"


class KillSwitch(BaseModel):
    """An engaged (or released) stop on a scope; ``target`` is ``*`` for global."""

    model_config = ConfigDict(frozen=True)

    scope: KillScope
    target: str
    engaged: bool
    reason: str
    changed_by: str
    changed_at: datetime

    @property
    def key(self) -> tuple[KillScope, str]:
        """The (scope, target) pair that identifies the switch."""
        return (self.scope, self.target)


class ApprovalStatus(StrEnum):
    """Where an approval request stands; only ``pending`` ones may change."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class Approval(BaseModel):
    """A proposed action waiting for (or decided by) people; four-eyes when two are required."""

    model_config = ConfigDict(frozen=True)

    approval_id: int
    account_id: str = Field(min_length=1)
    action: str = Field(min_length=1)
    product_id: str | None
    payload: dict[str, JsonValue]
    value: float | None
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    required_approvers: Literal[1, 2]
    approvers: tuple[str, ...] = ()
    status: ApprovalStatus = ApprovalStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    playbook_version: int | None = None
    decision_id: int | None = None
    """The stored decision the engine asked approval for (None: a person's request)."""


class ExceptionKind(StrEnum):
    """Why the system will not decide something alone."""

    DATA_QUALITY = "data_quality"
    RULE_CONFLICT = "rule_conflict"
    EXECUTION_FAILURE = "execution_failure"
    DRIFT = "drift"
    OTHER = "other"


class ExceptionStatus(StrEnum):
    """An exception is open until its owner (or someone trusted) resolves it."""

    OPEN = "open"
    RESOLVED = "resolved"


class ExceptionItem(BaseModel):
    """One thing waiting for a person's judgement, with the person who owns it."""

    model_config = ConfigDict(frozen=True)

    exception_id: int
    kind: ExceptionKind
    account_id: str | None
    summary: str
    details: dict[str, JsonValue]
    owner: str
    status: ExceptionStatus
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None
