"""Every query of the governance part: users, the audit chain, kill switches and queues."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Row, Select, false, func, insert, select, text, update

from nextmove.governance.autonomy import AutonomyDemotion
from nextmove.governance.model import (
    Approval,
    ApprovalStatus,
    AuditEntry,
    ExceptionItem,
    ExceptionStatus,
    KillScope,
    KillSwitch,
    User,
)
from nextmove.store import tables as t

__all__ = [
    "ApprovalRepository",
    "AuditRepository",
    "DemotionRepository",
    "ExceptionRepository",
    "KillSwitchRepository",
    "UserRepository",
]

_AUDIT_PAGE = 1_000

# Statements every decision runs, built once (building one costs more than running it).
_COUNT_USERS = select(func.count()).select_from(t.users)
_LOCK_AUDIT_HEAD = text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.audit_log'))")
_AUDIT_HEAD = select(t.audit_log).order_by(t.audit_log.c.seq.desc()).limit(1)
_AUDIT_HEAD_LINK = (
    select(t.audit_log.c.seq, t.audit_log.c.hash).order_by(t.audit_log.c.seq.desc()).limit(1)
)
_ADD_AUDIT_ENTRY = insert(t.audit_log)
_ADD_APPROVAL = insert(t.approvals).returning(t.approvals.c.approval_id)
_ENGAGED_KILL_SWITCHES = (
    select(t.kill_switches)
    .where(t.kill_switches.c.engaged.is_(True))
    .order_by(t.kill_switches.c.scope, t.kill_switches.c.target)
)
_OPEN_DEMOTIONS = (
    select(t.autonomy_demotions)
    .where(t.autonomy_demotions.c.restored_at.is_(None))
    .order_by(t.autonomy_demotions.c.demotion_id)
)


def _is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


class UserRepository:
    """Users and their token hashes on one connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def lock(self) -> None:
        """Serialise writers that decide on the set of users (the very first admin).

        SQLite's write transaction serialises by itself.
        """
        if _is_postgres(self._connection):
            self._connection.execute(text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))

    def count(self) -> int:
        """Return how many users exist, active or not."""
        return int(self._connection.execute(_COUNT_USERS).scalar_one())

    def count_active(self, role: str) -> int:
        """Return how many active users hold ``role``."""
        query = (
            select(func.count())
            .select_from(t.users)
            .where(t.users.c.role == role, t.users.c.active.is_(True))
        )
        return int(self._connection.execute(query).scalar_one())

    def get(self, user_id: str) -> User | None:
        """Return the user, or None."""
        row = self._connection.execute(
            select(t.users).where(t.users.c.user_id == user_id)
        ).one_or_none()
        return _user(row) if row else None

    def get_with_token_hash(self, user_id: str) -> tuple[User, str] | None:
        """Return the user and its stored token hash (for authentication only), or None."""
        row = self._connection.execute(
            select(t.users).where(t.users.c.user_id == user_id)
        ).one_or_none()
        return (_user(row), str(row.token_hash)) if row else None

    def add(self, user: User, token_hash: str) -> None:
        """Store a new user."""
        self._connection.execute(
            insert(t.users).values(**_plain(user.model_dump()), token_hash=token_hash)
        )

    def set_active(self, user_id: str, active: bool) -> None:
        """Activate or deactivate a user."""
        self._connection.execute(
            update(t.users).where(t.users.c.user_id == user_id).values(active=active)
        )

    def set_token_hash(self, user_id: str, token_hash: str) -> None:
        """Replace a user's token hash (the old token stops working)."""
        self._connection.execute(
            update(t.users).where(t.users.c.user_id == user_id).values(token_hash=token_hash)
        )

    def all(self) -> list[User]:
        """Return every user, by id."""
        rows = self._connection.execute(select(t.users).order_by(t.users.c.user_id))
        return [_user(row) for row in rows]


def _user(row: Row[Any]) -> User:
    return User(
        user_id=row.user_id,
        name=row.name,
        role=row.role,
        active=row.active,
        created_at=row.created_at,
        created_by=row.created_by,
        owner_id=row.owner_id,
    )


class AuditRepository:
    """The append-only audit log on one connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def lock_head(self) -> None:
        """Hold the chain's head until commit so concurrent appends cannot fork it.

        PostgreSQL: a transaction-scoped advisory lock (a row lock on the last entry would
        let a waiting writer read a stale head). SQLite: the write transaction serialises.
        """
        if _is_postgres(self._connection):
            self._connection.execute(_LOCK_AUDIT_HEAD)

    def last(self) -> AuditEntry | None:
        """Return the newest entry, or None when the log is empty."""
        row = self._connection.execute(_AUDIT_HEAD).one_or_none()
        return _audit_entry(row) if row else None

    def head(self) -> tuple[int, str] | None:
        """Return the newest entry's sequence number and hash (what the next entry chains
        to), or None when the log is empty."""
        row = self._connection.execute(_AUDIT_HEAD_LINK).one_or_none()
        return (int(row[0]), str(row[1])) if row else None

    def add(self, entry: AuditEntry) -> None:
        """Append a sealed entry (its seq and hashes already computed)."""
        self._connection.execute(_ADD_AUDIT_ENTRY, entry.model_dump())

    def newest(self, limit: int, action: str | None = None) -> list[AuditEntry]:
        """Return up to ``limit`` entries, newest first, optionally of one action."""
        query = select(t.audit_log).order_by(t.audit_log.c.seq.desc()).limit(limit)
        if action is not None:
            query = query.where(t.audit_log.c.action == action)
        return [_audit_entry(row) for row in self._connection.execute(query)]

    def in_order(self) -> Iterator[AuditEntry]:
        """Yield every entry by sequence, a page at a time."""
        after = 0
        while True:
            query = (
                select(t.audit_log)
                .where(t.audit_log.c.seq > after)
                .order_by(t.audit_log.c.seq)
                .limit(_AUDIT_PAGE)
            )
            page = [_audit_entry(row) for row in self._connection.execute(query)]
            yield from page
            if len(page) < _AUDIT_PAGE:
                return
            after = page[-1].seq

    def latest_playbook_version(self) -> int | None:
        """Return the newest stored playbook version (the one in force), or None."""
        query = select(func.max(t.playbook_versions.c.version))
        version = self._connection.execute(query).scalar_one_or_none()
        return int(version) if version is not None else None


def _audit_entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry.model_validate(row._asdict())


class KillSwitchRepository:
    """Kill switches on one connection; read fresh on every call (never cached)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, scope: KillScope, target: str) -> KillSwitch | None:
        """Return the switch on (scope, target), engaged or released, locked until commit."""
        table = t.kill_switches
        query = select(table).where(table.c.scope == scope.value, table.c.target == target)
        row = self._connection.execute(query.with_for_update()).one_or_none()
        return KillSwitch.model_validate(row._asdict()) if row else None

    def save(self, switch: KillSwitch) -> None:
        """Insert or overwrite the switch on its (scope, target)."""
        table = t.kill_switches
        values = _plain(switch.model_dump(exclude={"scope", "target"}))
        changed = self._connection.execute(
            update(table)
            .where(table.c.scope == switch.scope.value, table.c.target == switch.target)
            .values(**values)
        )
        if changed.rowcount == 0:
            self._connection.execute(insert(table).values(**_plain(switch.model_dump())))

    def engaged(self) -> list[KillSwitch]:
        """Return every engaged switch, by scope and target."""
        rows = self._connection.execute(_ENGAGED_KILL_SWITCHES)
        return [KillSwitch.model_validate(row._asdict()) for row in rows]


class ApprovalRepository:
    """The approval queue on one connection.

    Reads take ``owned_by``: None reads every approval; a set of CRM owner ids reads only
    approvals on accounts those owners own (none when the set is empty), filtered in the
    query itself, so an approval outside it is indistinguishable from a missing one.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, approval: Approval) -> int:
        """Store a new request (its ``approval_id`` is ignored) and return its id."""
        values = _approval_values(approval)
        del values["approval_id"]
        return int(self._connection.execute(_ADD_APPROVAL, values).scalar_one())

    def get(
        self,
        approval_id: int,
        *,
        owned_by: frozenset[str] | None = None,
        for_update: bool = False,
    ) -> Approval | None:
        """Return the approval (if within ``owned_by``), locking its row when ``for_update``."""
        query = _owned_by(
            select(t.approvals).where(t.approvals.c.approval_id == approval_id), owned_by
        )
        if for_update:
            query = query.with_for_update()
        row = self._connection.execute(query).one_or_none()
        return _approval(row) if row else None

    def save(self, approval: Approval) -> None:
        """Write back an approval's changeable fields."""
        values = _approval_values(approval)
        changeable = ("payload", "approvers", "status", "decided_by", "decided_at", "reason")
        self._connection.execute(
            update(t.approvals)
            .where(t.approvals.c.approval_id == approval.approval_id)
            .values({key: values[key] for key in changeable})
        )

    def listed(
        self,
        status: ApprovalStatus | None,
        limit: int,
        *,
        owned_by: frozenset[str] | None = None,
    ) -> list[Approval]:
        """Return up to ``limit`` approvals in ``owned_by`` (one status or all), oldest first."""
        query = _owned_by(
            select(t.approvals).order_by(t.approvals.c.approval_id).limit(limit), owned_by
        )
        if status is not None:
            query = query.where(t.approvals.c.status == status.value)
        return [_approval(row) for row in self._connection.execute(query)]

    def due(self, now: datetime) -> list[Approval]:
        """Return pending approvals whose expiry has come, locked until commit."""
        table = t.approvals
        query = (
            select(table)
            .where(table.c.status == ApprovalStatus.PENDING.value, table.c.expires_at <= now)
            .order_by(table.c.approval_id)
            .with_for_update()
        )
        return [_approval(row) for row in self._connection.execute(query)]


def _owned_by(query: Select[Any], owners: frozenset[str] | None) -> Select[Any]:
    """Narrow an approvals query to accounts of ``owners`` (None: leave it whole).

    A semi-join on the accounts' primary key: it locks no account row under FOR UPDATE.
    """
    if owners is None:
        return query
    if not owners:
        return query.where(false())
    owned = select(t.accounts.c.account_id).where(t.accounts.c.owner_id.in_(sorted(owners)))
    return query.where(t.approvals.c.account_id.in_(owned))


def _approval_values(approval: Approval) -> dict[str, Any]:
    values = _plain(approval.model_dump())
    values["payload"] = json.dumps(approval.payload, sort_keys=True)
    values["approvers"] = json.dumps(list(approval.approvers))
    return values


def _approval(row: Row[Any]) -> Approval:
    values = row._asdict()
    values["payload"] = json.loads(values["payload"])
    values["approvers"] = tuple(json.loads(values["approvers"]))
    return Approval.model_validate(values)


class ExceptionRepository:
    """The exception queue on one connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, item: ExceptionItem) -> int:
        """Store a new exception (its ``exception_id`` is ignored) and return its id."""
        values = _plain(item.model_dump(exclude={"exception_id"}))
        values["details"] = json.dumps(item.details, sort_keys=True)
        query = insert(t.exceptions).values(**values).returning(t.exceptions.c.exception_id)
        return int(self._connection.execute(query).scalar_one())

    def get(self, exception_id: int, *, for_update: bool = False) -> ExceptionItem | None:
        """Return the exception, locking its row until commit when ``for_update``."""
        query = select(t.exceptions).where(t.exceptions.c.exception_id == exception_id)
        if for_update:
            query = query.with_for_update()
        row = self._connection.execute(query).one_or_none()
        return _exception(row) if row else None

    def resolve(self, item: ExceptionItem) -> None:
        """Write back a resolution."""
        self._connection.execute(
            update(t.exceptions)
            .where(t.exceptions.c.exception_id == item.exception_id)
            .values(
                status=item.status.value,
                resolved_at=item.resolved_at,
                resolved_by=item.resolved_by,
                resolution=item.resolution,
            )
        )

    def listed(
        self, status: ExceptionStatus | None, owner: str | None, limit: int
    ) -> list[ExceptionItem]:
        """Return up to ``limit`` exceptions, oldest first, filtered by status and owner."""
        table = t.exceptions
        query = select(table).order_by(table.c.exception_id).limit(limit)
        if status is not None:
            query = query.where(table.c.status == status.value)
        if owner is not None:
            query = query.where(table.c.owner == owner)
        return [_exception(row) for row in self._connection.execute(query)]


def _exception(row: Row[Any]) -> ExceptionItem:
    values = row._asdict()
    values["details"] = json.loads(values["details"])
    return ExceptionItem.model_validate(values)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Return ``values`` with enums as their plain values (drivers may bind enum names)."""
    return {key: value.value if isinstance(value, Enum) else value for key, value in values.items()}


class DemotionRepository:
    """Autonomy demotions on one connection; at most one open per action."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, demotion: AutonomyDemotion) -> int:
        """Store a new demotion (its ``demotion_id`` is ignored) and return its id."""
        values = demotion.model_dump(exclude={"demotion_id"})
        values["trigger"] = demotion.trigger.value
        values["level"] = demotion.level.value
        table = t.autonomy_demotions
        query = insert(table).values(**values).returning(table.c.demotion_id)
        return int(self._connection.execute(query).scalar_one())

    def active(self, action: str) -> AutonomyDemotion | None:
        """Return the open demotion of ``action``, locking it until commit."""
        table = t.autonomy_demotions
        query = (
            select(table)
            .where(table.c.action == action, table.c.restored_at.is_(None))
            .order_by(table.c.demotion_id.desc())
            .limit(1)
            .with_for_update()
        )
        row = self._connection.execute(query).one_or_none()
        return _demotion(row) if row else None

    def all_active(self) -> list[AutonomyDemotion]:
        """Return every open demotion, oldest first."""
        return [_demotion(row) for row in self._connection.execute(_OPEN_DEMOTIONS)]

    def history(self, limit: int) -> list[AutonomyDemotion]:
        """Return the newest ``limit`` demotions, open or restored, newest first."""
        table = t.autonomy_demotions
        query = select(table).order_by(table.c.demotion_id.desc()).limit(limit)
        return [_demotion(row) for row in self._connection.execute(query)]

    def close(self, demotion_id: int, *, by: str, at: datetime) -> None:
        """Mark a demotion restored."""
        table = t.autonomy_demotions
        self._connection.execute(
            update(table)
            .where(table.c.demotion_id == demotion_id)
            .values(restored_by=by, restored_at=at)
        )


def _demotion(row: Row[Any]) -> AutonomyDemotion:
    return AutonomyDemotion.model_validate(row._asdict())
