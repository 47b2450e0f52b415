"""Autonomy demotions: something went wrong, so an ``auto`` action waits for a person.

When a trigger the playbook names happens (a guardrail breach, a drift alert, repeated
execution failures, a complaint spike), every action it concerns drops to the level the
playbook says, at once and for every later decision, until someone trusted restores it.
Each demotion is audited and announced: an exception is opened for the owner of the
playbook's autonomy section, saying what happened and how to restore. Restoring is
audited too and resolves that exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import JsonValue
from sqlalchemy import Connection

from nextmove.errors import GovernanceError
from nextmove.governance.access import require
from nextmove.governance.autonomy import LADDER, AutonomyDemotion, demotion_for, lower
from nextmove.governance.model import (
    Actor,
    ExceptionItem,
    ExceptionKind,
    ExceptionStatus,
    Permission,
)
from nextmove.governance.repository import DemotionRepository, ExceptionRepository
from nextmove.governance.service import Clock, Store, record_audit, transaction
from nextmove.playbook.model import AutonomyLevel, DemotionTrigger, Playbook

__all__ = ["active_demotions", "demote", "demoted_levels", "restore"]


def demote(
    *,
    store: Store,
    actor: Actor,
    playbook: Playbook,
    playbook_version: int | None,
    trigger: DemotionTrigger,
    reason: str,
    actions: list[str] | None = None,
    evidence: Mapping[str, JsonValue] | None = None,
    now: Clock,
) -> list[AutonomyDemotion]:
    """Demote every action ``trigger`` concerns (or only ``actions``); return what changed.

    An action is concerned when the playbook lists the trigger among its demotions and it
    can act on its own. One already held at the same or a lower level is left as it is;
    one held higher is lowered. Naming an action the trigger does not concern is an error
    (a person asked for something the playbook does not allow); a system trigger without
    ``actions`` quietly skips them.
    """
    require(actor, Permission.ENGAGE_KILL_SWITCH)
    if not reason.strip():
        raise GovernanceError("a demotion needs a reason")
    targets = _targets(playbook, trigger, actions)
    at = now()
    changed: list[AutonomyDemotion] = []
    with transaction(store) as connection:
        demotions = DemotionRepository(connection)
        for action, level in targets.items():
            current = demotions.active(action)
            if current is not None and lower(current.level, level) is current.level:
                continue
            draft = AutonomyDemotion(
                demotion_id=0,
                action=action,
                trigger=trigger,
                level=level,
                reason=reason.strip(),
                demoted_by=actor.user_id,
                demoted_at=at,
            )
            exception_id = _announce(connection, actor, playbook, draft, evidence, at)
            if current is not None:
                demotions.close(current.demotion_id, by=actor.user_id, at=at)
            draft = draft.model_copy(update={"exception_id": exception_id})
            demotion = draft.model_copy(update={"demotion_id": demotions.add(draft)})
            details: dict[str, JsonValue] = {
                **demotion.model_dump(mode="json"),
                "evidence": dict(evidence or {}),
            }
            record_audit(
                connection,
                actor=actor,
                action="autonomy.demote",
                subject=f"action:{action}",
                details=details,
                occurred_at=at,
                playbook_version=playbook_version,
            )
            changed.append(demotion)
    return changed


def _targets(
    playbook: Playbook, trigger: DemotionTrigger, actions: list[str] | None
) -> dict[str, AutonomyLevel]:
    if actions is None:
        found = {name: demotion_for(playbook, name, trigger) for name in playbook.actions}
        return {name: AutonomyLevel(d.to) for name, d in found.items() if d is not None}
    targets = {}
    for name in actions:
        if name not in playbook.actions:
            known = ", ".join(sorted(playbook.actions))
            raise GovernanceError(f"unknown action {name!r}; the playbook has {known}")
        demotion = demotion_for(playbook, name, trigger)
        if demotion is None:
            raise GovernanceError(
                f"the playbook does not demote {name} on {trigger} "
                "(only actions that can act on their own, for the triggers listed in "
                "autonomy.demotions or autonomy.actions.<name>.demotions)"
            )
        targets[name] = AutonomyLevel(demotion.to)
    return targets


def _announce(
    connection: Connection,
    actor: Actor,
    playbook: Playbook,
    demotion: AutonomyDemotion,
    evidence: Mapping[str, JsonValue] | None,
    at: datetime,
) -> int:
    """Open the exception that tells the autonomy section's owner; return its id."""
    item = ExceptionItem(
        exception_id=0,
        kind=_exception_kind(demotion.trigger),
        account_id=None,
        summary=(
            f"{demotion.action} demoted from auto to {demotion.level} after a "
            f"{demotion.trigger.value.replace('_', ' ')}: {demotion.reason}. "
            f"Restore with: nextmove autonomy restore {demotion.action}"
        ),
        details={
            "action": demotion.action,
            "trigger": demotion.trigger.value,
            "level": demotion.level.value,
            "evidence": dict(evidence or {}),
        },
        owner=playbook.ownership.autonomy.value,
        status=ExceptionStatus.OPEN,
        created_at=at,
    )
    exception_id = ExceptionRepository(connection).add(item)
    record_audit(
        connection,
        actor=actor,
        action="exception.open",
        subject=f"exception:{exception_id}",
        details=item.model_copy(update={"exception_id": exception_id}).model_dump(mode="json"),
        occurred_at=at,
    )
    return exception_id


def _exception_kind(trigger: DemotionTrigger) -> ExceptionKind:
    return {
        DemotionTrigger.DRIFT_ALERT: ExceptionKind.DRIFT,
        DemotionTrigger.EXECUTION_FAILURES: ExceptionKind.EXECUTION_FAILURE,
        DemotionTrigger.GUARDRAIL_BREACH: ExceptionKind.RULE_CONFLICT,
    }.get(trigger, ExceptionKind.OTHER)


def restore(
    *,
    store: Store,
    actor: Actor,
    action: str,
    reason: str,
    playbook_version: int | None,
    now: Clock,
) -> AutonomyDemotion:
    """Lift the open demotion of ``action``; GovernanceError when there is none."""
    require(actor, Permission.RESTORE_AUTONOMY)
    if not reason.strip():
        raise GovernanceError("restoring autonomy needs a reason (what was checked or fixed)")
    at = now()
    with transaction(store) as connection:
        demotions = DemotionRepository(connection)
        current = demotions.active(action)
        if current is None:
            raise GovernanceError(f"{action} is not demoted")
        demotions.close(current.demotion_id, by=actor.user_id, at=at)
        restored = current.model_copy(update={"restored_by": actor.user_id, "restored_at": at})
        record_audit(
            connection,
            actor=actor,
            action="autonomy.restore",
            subject=f"action:{action}",
            details={**restored.model_dump(mode="json"), "reason": reason.strip()},
            occurred_at=at,
            playbook_version=playbook_version,
        )
        _resolve_announcement(connection, actor, current, reason.strip(), at)
    return restored


def _resolve_announcement(
    connection: Connection, actor: Actor, demotion: AutonomyDemotion, reason: str, at: datetime
) -> None:
    if demotion.exception_id is None:
        return
    exceptions = ExceptionRepository(connection)
    item = exceptions.get(demotion.exception_id, for_update=True)
    if item is None or item.status is not ExceptionStatus.OPEN:
        return
    resolved = item.model_copy(
        update={
            "status": ExceptionStatus.RESOLVED,
            "resolved_at": at,
            "resolved_by": actor.user_id,
            "resolution": f"autonomy of {demotion.action} restored: {reason}",
        }
    )
    exceptions.resolve(resolved)
    record_audit(
        connection,
        actor=actor,
        action="exception.resolve",
        subject=f"exception:{item.exception_id}",
        details=resolved.model_dump(mode="json"),
        occurred_at=at,
    )


def active_demotions(*, store: Store, actor: Actor) -> list[AutonomyDemotion]:
    """Return every demotion that still holds, read fresh from the store."""
    require(actor, Permission.VIEW)
    with transaction(store) as connection:
        return DemotionRepository(connection).all_active()


def demoted_levels(demotions: list[AutonomyDemotion]) -> dict[str, AutonomyLevel]:
    """Return the level each demoted action is held at (the lowest, should two hold)."""
    levels: dict[str, AutonomyLevel] = {}
    for demotion in demotions:
        if demotion.active:
            held = levels.get(demotion.action, LADDER[-1])
            levels[demotion.action] = lower(held, demotion.level)
    return levels
