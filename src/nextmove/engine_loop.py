"""The Engine's calls for the agent loop: its stored state, urgent signals, and status.

A mixin of :class:`nextmove.Engine`; the loop itself is :class:`nextmove.agent.Agent`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine as SqlEngine

from nextmove.errors import GovernanceError
from nextmove.execution.service import queue_state
from nextmove.governance.model import Actor, Permission
from nextmove.loop.model import LoopState, LoopStatus, UrgentSignals
from nextmove.loop.repository import LoopRepository
from nextmove.playbook.model import Playbook
from nextmove.store import UnitOfWork

__all__ = ["LoopCalls"]


class LoopCalls:
    """What the agent loop keeps in the store, and what ``nextmove status`` shows."""

    _database: SqlEngine
    _clock: Callable[[], datetime]

    if TYPE_CHECKING:  # provided by the Engine and the mixins after this one

        def _authorise(self, permission: Permission) -> Actor: ...
        def _required_playbook(self) -> tuple[Playbook, int]: ...

    def loop_state(self, name: str = "default") -> LoopState | None:
        """Return the stored state of the loop called ``name`` (None before it first ran)."""
        self._authorise(Permission.VIEW)
        with UnitOfWork(self._database) as uow:
            return LoopRepository(uow.connection).state(name)

    def save_loop_state(self, state: LoopState) -> None:
        """Store the loop's state (schedule, watermark, last report, errors)."""
        self._authorise(Permission.DECIDE)
        with UnitOfWork(self._database) as uow:
            LoopRepository(uow.connection).save(state)
            uow.commit()

    def last_batch_as_of(self) -> datetime | None:
        """Return the as-of time of the newest batch decision run, if any."""
        self._authorise(Permission.VIEW)
        with UnitOfWork(self._database) as uow:
            return LoopRepository(uow.connection).latest_batch_as_of()

    def urgent_signals(self, *, after: datetime, until: datetime) -> UrgentSignals:
        """Return the accounts with a signal the playbook marks urgent in ``(after, until]``."""
        self._authorise(Permission.VIEW)
        try:
            playbook, _ = self._required_playbook()
        except GovernanceError:
            return UrgentSignals((), None)
        with UnitOfWork(self._database) as uow:
            return LoopRepository(uow.connection).urgent(
                playbook.urgent_signals(), after=after, until=until
            )

    def status(self, name: str = "default") -> LoopStatus:
        """Return how the loop and its queues stand now."""
        self._authorise(Permission.VIEW)
        now = self._clock()
        with UnitOfWork(self._database) as uow:
            loop = LoopRepository(uow.connection)
            queues = queue_state(uow.connection, now=now)
            return LoopStatus(
                now=now,
                state=loop.state(name),
                outbox=queues.outbox,
                oldest_due_seconds=queues.oldest_due_seconds,
                approvals_pending=loop.pending_approvals(),
                exceptions_open=loop.open_exceptions(),
                last_decision_at=loop.latest_decision_at(),
            )
