"""Access control: which role may do what. Pure: data and two small functions.

The matrix (``x``: allowed)::

    permission           admin  ops  steward  approver  rep  viewer
    view                   x     x      x        x       x     x
    view_audit             x     x      x        x             x
    verify_audit           x     x      x        x             x
    import_data            x     x      x
    apply_playbook         x            x
    decide                 x     x
    learn                  x     x
    record_outcomes        x     x                       x
    request_approval       x     x                       x
    approve                x                     x
    engage_kill_switch     x     x      x
    release_kill_switch    x     x
    restore_autonomy       x     x      x
    open_exception         x     x      x        x       x
    resolve_exception      x     x      x
    manage_users           x

Why it is drawn this way:

- **admin** may do everything, including managing users (nobody else may).
- **ops** runs the machine: imports, decisions, learning, outcomes; pulls and releases
  kill switches; restores demoted autonomy; works the exception queue. It does not
  change the playbook and does not approve actions (the people who run the machine do
  not also sign off its proposals).
- **steward** owns the data and the playbook sections: imports, applies playbooks,
  restores autonomy it configured, resolves exceptions (most are data quality). It may
  engage a kill switch (stopping is always safe) but not release one: turning
  autonomous work back on is an operations decision.
- **approver** approves, rejects and edits proposed actions, and may raise an
  exception about what it reviews. It cannot request approvals, so it can never be on
  both sides of one.
- **rep** sees and works its queue: reads, requests approval for a move on its
  accounts, records outcomes, raises exceptions. It does not read the audit log.
- **viewer** reads only, including the audit log (auditors are viewers).

Users may always rotate their own token; rotating another user's needs
``manage_users`` (see ``service.rotate_token``).
"""

from __future__ import annotations

from collections.abc import Mapping

from nextmove.errors import AccessDenied
from nextmove.governance.model import Actor, Permission, Role

__all__ = ["PERMISSIONS", "can", "permissions_of", "require"]

P = Permission

PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPS: frozenset(
        {
            P.VIEW,
            P.VIEW_AUDIT,
            P.VERIFY_AUDIT,
            P.IMPORT_DATA,
            P.DECIDE,
            P.LEARN,
            P.RECORD_OUTCOMES,
            P.REQUEST_APPROVAL,
            P.ENGAGE_KILL_SWITCH,
            P.RELEASE_KILL_SWITCH,
            P.RESTORE_AUTONOMY,
            P.OPEN_EXCEPTION,
            P.RESOLVE_EXCEPTION,
        }
    ),
    Role.STEWARD: frozenset(
        {
            P.VIEW,
            P.VIEW_AUDIT,
            P.VERIFY_AUDIT,
            P.IMPORT_DATA,
            P.APPLY_PLAYBOOK,
            P.ENGAGE_KILL_SWITCH,
            P.RESTORE_AUTONOMY,
            P.OPEN_EXCEPTION,
            P.RESOLVE_EXCEPTION,
        }
    ),
    Role.APPROVER: frozenset(
        {P.VIEW, P.VIEW_AUDIT, P.VERIFY_AUDIT, P.APPROVE, P.OPEN_EXCEPTION},
    ),
    Role.REP: frozenset({P.VIEW, P.RECORD_OUTCOMES, P.REQUEST_APPROVAL, P.OPEN_EXCEPTION}),
    Role.VIEWER: frozenset({P.VIEW, P.VIEW_AUDIT, P.VERIFY_AUDIT}),
}
"""Role → the permissions it grants. Every role is listed; nothing is inherited."""


def permissions_of(role: Role) -> frozenset[Permission]:
    """Return every permission ``role`` grants."""
    return PERMISSIONS[role]


def can(role: Role, permission: Permission) -> bool:
    """Return whether ``role`` grants ``permission``."""
    return permission in PERMISSIONS[role]


def require(actor: Actor, permission: Permission) -> None:
    """Return silently when ``actor`` may perform ``permission``; raise AccessDenied if not."""
    if not can(actor.role, permission):
        raise AccessDenied(f"user {actor.user_id} ({actor.role}) may not {permission}")
