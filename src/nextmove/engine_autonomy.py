"""The Engine's autonomy calls: demote an action after something went wrong, restore it.

A mixin of :class:`nextmove.Engine`. Demotions follow the active playbook's
``autonomy.demotions``; the decision engine reads :meth:`AutonomyCalls.demoted_levels`
on every run, so a demotion or restoration holds from the next decision on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from pydantic import JsonValue
from sqlalchemy import Engine as SqlEngine

from nextmove.errors import GovernanceError
from nextmove.governance import demotion_service
from nextmove.governance.autonomy import AutonomyDemotion
from nextmove.governance.model import Actor, Permission, Role
from nextmove.governance.service import SYSTEM_ACTOR
from nextmove.playbook import service as playbook_service
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import AutonomyLevel, DemotionTrigger, Playbook
from nextmove.store import UnitOfWork

__all__ = ["AutonomyCalls"]

_SYSTEM = Actor(user_id=SYSTEM_ACTOR, role=Role.ADMIN)


class AutonomyCalls:
    """Demotions of the autonomy ladder: stored, audited, announced."""

    _database: SqlEngine
    _clock: Callable[[], datetime]

    def _authorise(self, permission: Permission) -> Actor:  # provided by Engine
        raise NotImplementedError

    def demote_autonomy(
        self,
        trigger: DemotionTrigger | str,
        *,
        reason: str,
        actions: Sequence[str] | None = None,
        evidence: Mapping[str, JsonValue] | None = None,
    ) -> list[AutonomyDemotion]:
        """Demote the actions ``trigger`` concerns under the active playbook, as this user."""
        actor = self._authorise(Permission.ENGAGE_KILL_SWITCH)
        return self._demote(actor, DemotionTrigger(trigger), reason, actions, evidence)

    def _demote_as_system(
        self,
        trigger: DemotionTrigger,
        *,
        reason: str,
        evidence: Mapping[str, JsonValue] | None = None,
    ) -> list[AutonomyDemotion]:
        """Demote on a trigger the engine detected itself (audited as ``system``)."""
        return self._demote(_SYSTEM, trigger, reason, None, evidence)

    def _demote(
        self,
        actor: Actor,
        trigger: DemotionTrigger,
        reason: str,
        actions: Sequence[str] | None,
        evidence: Mapping[str, JsonValue] | None,
    ) -> list[AutonomyDemotion]:
        playbook, version = self._required_playbook()
        return demotion_service.demote(
            store=self._database,
            actor=actor,
            playbook=playbook,
            playbook_version=version,
            trigger=trigger,
            reason=reason,
            actions=None if actions is None else list(actions),
            evidence=evidence,
            now=self._clock,
        )

    def restore_autonomy(self, action: str, *, reason: str) -> AutonomyDemotion:
        """Lift the demotion of ``action``: it acts at its playbook level again."""
        actor = self._authorise(Permission.RESTORE_AUTONOMY)
        active = playbook_service.active(engine=self._database)
        return demotion_service.restore(
            store=self._database,
            actor=actor,
            action=action,
            reason=reason,
            playbook_version=active.version if active else None,
            now=self._clock,
        )

    def autonomy_demotions(self) -> list[AutonomyDemotion]:
        """Return the demotions that hold now, oldest first."""
        actor = self._authorise(Permission.VIEW)
        return demotion_service.active_demotions(store=self._database, actor=actor)

    def demoted_levels(self) -> dict[str, AutonomyLevel]:
        """Return the level each demoted action is held at."""
        return demotion_service.demoted_levels(self.autonomy_demotions())

    def _required_playbook(self) -> tuple[Playbook, int]:
        return self._required_playbook_in(self._database)

    def _required_playbook_in(self, store: SqlEngine | UnitOfWork) -> tuple[Playbook, int]:
        """The active playbook and its version, read in ``store`` (the engine, or the
        caller's unit of work); GovernanceError when none is active."""
        key = playbook_service.active_key(engine=store)
        known = None if key is None else _PARSED.get(key[1])
        if key is not None and known is not None:  # its text is only read when it is new
            return known, key[0]
        active = playbook_service.active(engine=store)
        if active is None:
            raise GovernanceError(
                "no playbook is active; apply one first (nextmove playbook apply FILE -m why)"
            )
        return _parsed(active.content_hash, active.content), active.version


def _parsed(content_hash: str, content: str) -> Playbook:
    """A stored playbook's rules, remembered by content hash: parsing (with source
    positions) is slow, contents are not."""
    found = _PARSED.get(content_hash)
    if found is None:
        found = load_playbook(content).playbook
        if len(_PARSED) >= _PARSED_KEPT:  # playbooks change seldom: start afresh
            _PARSED.clear()
        _PARSED[content_hash] = found
    return found


_PARSED: dict[str, Playbook] = {}
_PARSED_KEPT = 8
