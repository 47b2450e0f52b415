"""The Engine's playbook calls: check, apply, history, diff, rollback and example cases.

A mixin of :class:`nextmove.Engine`. Changes are made as the authenticated user, need
the ``apply_playbook`` permission, and are audited in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine as SqlEngine

from nextmove.governance.model import Actor, Permission
from nextmove.governance.service import record_audit
from nextmove.playbook import service
from nextmove.playbook.cases import CaseReport
from nextmove.playbook.diffing import PlaybookDiff
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import Playbook, PlaybookVersion
from nextmove.playbook.semantics import KnownCatalog
from nextmove.playbook.service import AppliedPlaybook, OnStored, PlaybookCheck
from nextmove.store import UnitOfWork

__all__ = ["PlaybookCalls"]


class PlaybookCalls:
    """The human-authored rules: stored, versioned, audited."""

    _database: SqlEngine
    _clock: Callable[[], datetime]

    def _authorise(self, permission: Permission) -> Actor:  # provided by Engine
        raise NotImplementedError

    def playbook_catalog(self) -> KnownCatalog:
        """Return the stored products, teams and signal types a playbook is checked against."""
        self._authorise(Permission.VIEW)
        return service.known_catalog(engine=self._database)

    def check_playbook(self, playbook: str | Path) -> PlaybookCheck:
        """Check a playbook (a YAML file path or its text) against the stored catalog."""
        return service.check_playbook(text=_text(playbook), known=self.playbook_catalog())

    def apply_playbook(self, playbook: str | Path, *, message: str) -> AppliedPlaybook:
        """Store a valid playbook as the new active version, saying why."""
        actor = self._authorise(Permission.APPLY_PLAYBOOK)
        return service.apply_playbook(
            engine=self._database,
            text=_text(playbook),
            author=actor.user_id,
            message=message,
            now=self._clock(),
            on_stored=self._audited(actor, "playbook.apply", message),
        )

    def rollback_playbook(self, version: int, *, message: str) -> AppliedPlaybook:
        """Make an earlier version active again (stored as a new version)."""
        actor = self._authorise(Permission.APPLY_PLAYBOOK)
        return service.rollback(
            engine=self._database,
            version=version,
            author=actor.user_id,
            message=message,
            now=self._clock(),
            on_stored=self._audited(actor, "playbook.rollback", message),
        )

    def playbook_history(self, limit: int | None = None) -> list[PlaybookVersion]:
        """Return stored playbook versions, newest first."""
        self._authorise(Permission.VIEW)
        return service.history(engine=self._database, limit=limit)

    def playbook(self, version: int | None = None) -> PlaybookVersion | None:
        """Return one version, or the active one (None when none was applied)."""
        self._authorise(Permission.VIEW)
        if version is None:
            return service.active(engine=self._database)
        return service.get(engine=self._database, version=version)

    def active_playbook(self) -> Playbook | None:
        """Return the active version's rules, parsed (None when none was applied)."""
        active = self.playbook()
        return None if active is None else load_playbook(active.content).playbook

    def playbook_diff(self, a: int, b: int) -> PlaybookDiff:
        """Return what changed between two versions, section by section."""
        self._authorise(Permission.VIEW)
        return service.diff(engine=self._database, a=a, b=b)

    def test_playbook(self, playbook: str | Path, cases: str | Path) -> CaseReport:
        """Run a playbook's example cases (account like this → allowed / blocked by rule)."""
        return service.run_playbook_cases(
            text=_text(playbook), cases_text=_text(cases), known=self.playbook_catalog()
        )

    def _audited(self, actor: Actor, action: str, message: str) -> OnStored:
        def audit(uow: UnitOfWork, stored: PlaybookVersion) -> None:
            record_audit(
                uow,
                actor=actor,
                action=action,
                subject=f"playbook:v{stored.version}",
                details={
                    "message": message,
                    "content_hash": stored.content_hash,
                    "rollback_of": stored.rollback_of,
                },
                occurred_at=stored.created_at,
                playbook_version=stored.version,
            )

        return audit


def _text(playbook: str | Path) -> str:
    """A path's content, or the text itself (YAML always has a newline or a colon)."""
    if isinstance(playbook, Path) or ("\n" not in playbook and ":" not in playbook):
        return Path(playbook).read_text(encoding="utf-8")
    return playbook
