"""Governance use cases: the audit log, users and kill switches (queues: ``queue_service``).

Every use case is keyword-only and takes ``store`` — the SQLAlchemy engine (the use
case runs and commits one transaction of its own) or an open ``UnitOfWork`` (it joins
the caller's transaction, and the caller commits) — and, when it writes, ``now``, the
clock to read; nothing here reads the wall clock. Every change is audited in the same
transaction as the change itself. Every use case but ``bootstrap_admin``,
``authenticate`` and ``record_audit`` checks the acting user's role with
``access.require``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime

from pydantic import JsonValue
from sqlalchemy import Connection
from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import IntegrityError, OperationalError

from nextmove.errors import AuthenticationFailed, GovernanceError, NotFound, StoreError
from nextmove.governance import tokens
from nextmove.governance.access import require
from nextmove.governance.audit import chained_entry, verify_chain
from nextmove.governance.model import (
    GLOBAL_TARGET,
    USER_ID_PATTERN,
    Actor,
    AuditEntry,
    AuditVerification,
    KillScope,
    KillSwitch,
    Permission,
    Role,
    User,
)
from nextmove.governance.repository import AuditRepository, KillSwitchRepository, UserRepository
from nextmove.store import UnitOfWork

__all__ = [
    "SYSTEM_ACTOR",
    "Clock",
    "Store",
    "active_kill_switches",
    "add_user",
    "audit_entries",
    "authenticate",
    "bootstrap_admin",
    "deactivate_user",
    "engage_kill_switch",
    "has_users",
    "list_users",
    "record_audit",
    "release_kill_switch",
    "rotate_token",
    "transaction",
    "verify_audit",
]

Clock = Callable[[], datetime]
Store = SqlEngine | UnitOfWork
"""Where a use case runs: its own transaction on an engine, or the caller's unit of work."""

SYSTEM_ACTOR = "system"
"""The audit actor of changes the rules make by themselves (such as expiry)."""

# A well-formed hash no token matches: unknown users cost as much to reject as known ones.
_UNKNOWN_USER_HASH = "scrypt$n=16384,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43


@contextmanager
def transaction(store: Store) -> Iterator[Connection]:
    """Yield the connection to work on: the caller's unit of work, or a new committed one.

    In a transaction of its own, a database refusal (SQLite busy with another writer, a
    concurrent insert of the same key, a lost connection) becomes StoreError; nothing is
    changed.
    """
    if isinstance(store, UnitOfWork):
        yield store.connection
        return
    with UnitOfWork(store) as uow:
        try:
            yield uow.connection
            uow.commit()
        except (OperationalError, IntegrityError) as exc:
            raise StoreError(
                f"the database refused the change, nothing was changed: {exc.orig}"
            ) from exc


# --- audit --------------------------------------------------------------------------


def record_audit(
    target: Connection | UnitOfWork,
    *,
    actor: Actor | str,
    action: str,
    subject: str,
    details: Mapping[str, JsonValue],
    occurred_at: datetime,
    playbook_version: int | None = None,
) -> AuditEntry:
    """Append an entry to the audit chain inside the caller's transaction; return it.

    ``actor`` is the acting user (or a process name such as ``system``). The entry lands
    only if the caller commits. ``playbook_version`` defaults to the version in force.
    """
    connection = target.connection if isinstance(target, UnitOfWork) else target
    audit = AuditRepository(connection)
    audit.lock_head()
    entry = chained_entry(
        audit.head(),
        occurred_at=occurred_at,
        actor=actor.user_id if isinstance(actor, Actor) else actor,
        action=action,
        subject=subject,
        details=details,
        playbook_version=(
            playbook_version if playbook_version is not None else audit.latest_playbook_version()
        ),
    )
    audit.add(entry)
    return entry


def verify_audit(*, store: Store, actor: Actor) -> AuditVerification:
    """Return whether the whole audit chain is intact, and where it first breaks if not."""
    require(actor, Permission.VERIFY_AUDIT)
    with transaction(store) as connection:
        return verify_chain(AuditRepository(connection).in_order())


def audit_entries(
    *, store: Store, actor: Actor, limit: int = 50, action: str | None = None
) -> list[AuditEntry]:
    """Return the newest audit entries (of one action, or all), newest first."""
    require(actor, Permission.VIEW_AUDIT)
    with transaction(store) as connection:
        return AuditRepository(connection).newest(limit, action)


# --- users --------------------------------------------------------------------------


def bootstrap_admin(*, store: Store, user_id: str, name: str, now: Clock) -> tuple[User, str]:
    """Create the first admin and return it with its token (shown once, stored hashed).

    Refused with GovernanceError once any user exists: later users are added by an admin.
    """
    at = now()
    with transaction(store) as connection:
        users = UserRepository(connection)
        users.lock()
        if users.count():
            raise GovernanceError("users already exist; an admin adds the next ones")
        user, token = _create_user(connection, None, user_id, name, Role.ADMIN, at)
        _audit(connection, user_id, "user.bootstrap", f"user:{user_id}", user, at)
    return user, token


def add_user(
    *,
    store: Store,
    actor: Actor,
    user_id: str,
    name: str,
    role: Role,
    owner_id: str | None = None,
    now: Clock,
) -> tuple[User, str]:
    """Add a user with ``role``; return it and its token (shown once, stored hashed).

    ``owner_id`` is the CRM owner the user works as; a rep without one sees no approvals.
    It need not be imported yet (users are often set up before the first CRM export).
    """
    require(actor, Permission.MANAGE_USERS)
    owner = _owner_id(owner_id)
    at = now()
    with transaction(store) as connection:
        users = UserRepository(connection)
        users.lock()
        if users.get(user_id) is not None:
            raise GovernanceError(f"user {user_id} already exists")
        user, token = _create_user(connection, actor.user_id, user_id, name, role, at, owner)
        _audit(connection, actor, "user.add", f"user:{user_id}", user, at)
    return user, token


def _create_user(
    connection: Connection,
    created_by: str | None,
    user_id: str,
    name: str,
    role: Role,
    at: datetime,
    owner_id: str | None = None,
) -> tuple[User, str]:
    if re.fullmatch(USER_ID_PATTERN, user_id) is None:
        raise GovernanceError(
            f"user id {user_id!r} must be up to 128 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    if not name.strip() or len(name) > 300:
        raise GovernanceError("a user needs a name of at most 300 characters")
    user = User(
        user_id=user_id,
        name=name.strip(),
        role=role,
        active=True,
        created_at=at,
        created_by=created_by,
        owner_id=owner_id,
    )
    token = tokens.generate_token()
    UserRepository(connection).add(user, tokens.hash_token(token))
    return user, token


def _owner_id(owner_id: str | None) -> str | None:
    if owner_id is None:
        return None
    if not owner_id.strip() or len(owner_id.strip()) > 128:
        raise GovernanceError("a CRM owner id must be 1 to 128 characters, not blank")
    return owner_id.strip()


def deactivate_user(*, store: Store, actor: Actor, user_id: str, now: Clock) -> User:
    """Deactivate a user (its token stops working); refuse to remove the last active admin."""
    require(actor, Permission.MANAGE_USERS)
    with transaction(store) as connection:
        users = UserRepository(connection)
        users.lock()
        user = _existing_user(users, user_id)
        if not user.active:
            raise GovernanceError(f"user {user_id} is already deactivated")
        if user.role is Role.ADMIN and users.count_active(Role.ADMIN) == 1:
            raise GovernanceError(f"{user_id} is the last active admin and cannot be deactivated")
        users.set_active(user_id, False)
        changed = user.model_copy(update={"active": False})
        _audit(connection, actor, "user.deactivate", f"user:{user_id}", {}, now())
    return changed


def list_users(*, store: Store, actor: Actor) -> list[User]:
    """Return every user (never a token or its hash), by id."""
    require(actor, Permission.MANAGE_USERS)
    with transaction(store) as connection:
        return UserRepository(connection).all()


def has_users(*, store: Store) -> bool:
    """True once any user exists (until then the installation is single-user)."""
    with transaction(store) as connection:
        return UserRepository(connection).count() > 0


def authenticate(*, store: Store, user_id: str, token: str) -> Actor:
    """Return the acting identity for a user and its token; AuthenticationFailed otherwise."""
    with transaction(store) as connection:
        found = UserRepository(connection).get_with_token_hash(user_id)
    stored_hash = found[1] if found else _UNKNOWN_USER_HASH
    if not tokens.verify_token(token, stored_hash) or found is None:
        raise AuthenticationFailed(f"unknown user or wrong token for {user_id!r}")
    user = found[0]
    if not user.active:
        raise AuthenticationFailed(f"user {user_id!r} is deactivated")
    return user.as_actor()


def rotate_token(*, store: Store, actor: Actor, user_id: str | None = None, now: Clock) -> str:
    """Give a user a new token and return it (shown once); the old one stops working.

    Anyone may rotate their own token; another user's needs ``manage_users``.
    """
    target = user_id or actor.user_id
    if target != actor.user_id:
        require(actor, Permission.MANAGE_USERS)
    with transaction(store) as connection:
        users = UserRepository(connection)
        user = _existing_user(users, target)
        if not user.active:
            raise GovernanceError(f"user {target} is deactivated; its token cannot be rotated")
        token = tokens.generate_token()
        users.set_token_hash(target, tokens.hash_token(token))
        _audit(connection, actor, "user.rotate_token", f"user:{target}", {}, now())
    return token


def _existing_user(users: UserRepository, user_id: str) -> User:
    user = users.get(user_id)
    if user is None:
        raise NotFound(f"no user {user_id!r}")
    return user


# --- kill switches ------------------------------------------------------------------


def engage_kill_switch(
    *,
    store: Store,
    actor: Actor,
    scope: KillScope,
    target: str | None = None,
    reason: str,
    now: Clock,
) -> KillSwitch:
    """Stop everything (global), one motion or one action from the next decision on."""
    require(actor, Permission.ENGAGE_KILL_SWITCH)
    key = _kill_target(scope, target)
    if not reason.strip():
        raise GovernanceError("engaging a kill switch needs a reason")
    return _set_kill_switch(store, actor, scope, key, True, reason.strip(), now())


def release_kill_switch(
    *,
    store: Store,
    actor: Actor,
    scope: KillScope,
    target: str | None = None,
    reason: str = "",
    now: Clock,
) -> KillSwitch:
    """Release an engaged kill switch; GovernanceError when none is engaged there."""
    require(actor, Permission.RELEASE_KILL_SWITCH)
    key = _kill_target(scope, target)
    return _set_kill_switch(store, actor, scope, key, False, reason.strip(), now())


def active_kill_switches(*, store: Store, actor: Actor) -> list[KillSwitch]:
    """Return every engaged kill switch, read fresh from the store (never cached)."""
    require(actor, Permission.VIEW)
    with transaction(store) as connection:
        return KillSwitchRepository(connection).engaged()


def _kill_target(scope: KillScope, target: str | None) -> str:
    if scope is KillScope.GLOBAL:
        if target not in (None, GLOBAL_TARGET):
            raise GovernanceError("the global kill switch takes no target")
        return GLOBAL_TARGET
    if not target or not target.strip():
        raise GovernanceError(f"a {scope} kill switch needs the {scope} it stops")
    return target.strip()


def _set_kill_switch(
    store: Store,
    actor: Actor,
    scope: KillScope,
    target: str,
    engaged: bool,
    reason: str,
    at: datetime,
) -> KillSwitch:
    with transaction(store) as connection:
        switches = KillSwitchRepository(connection)
        current = switches.get(scope, target)
        if not engaged and (current is None or not current.engaged):
            raise GovernanceError(f"no kill switch is engaged on {_kill_label(scope, target)}")
        switch = KillSwitch(
            scope=scope,
            target=target,
            engaged=engaged,
            reason=reason or (current.reason if current else ""),
            changed_by=actor.user_id,
            changed_at=at,
        )
        switches.save(switch)
        action = "kill_switch.engage" if engaged else "kill_switch.release"
        details: dict[str, JsonValue] = {"reason": reason}
        _audit(connection, actor, action, f"kill_switch:{_kill_label(scope, target)}", details, at)
    return switch


def _kill_label(scope: KillScope, target: str) -> str:
    return "global" if scope is KillScope.GLOBAL else f"{scope}/{target}"


def _audit(
    connection: Connection,
    actor: Actor | str,
    action: str,
    subject: str,
    details: Mapping[str, JsonValue] | User,
    at: datetime,
) -> AuditEntry:
    if isinstance(details, User):
        details = details.model_dump(mode="json")
    return record_audit(
        connection, actor=actor, action=action, subject=subject, details=details, occurred_at=at
    )
