"""The Engine's execution calls: act on decisions, dispatch the outbox, read the queues.

A mixin of :class:`nextmove.Engine`. Decisions are acted on in the transaction that
stores them (``_acting_on``); approved requests are enqueued in the transaction that
approves them (``_enqueue_if_approved``) and, as a backstop, by ``enqueue_approved``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import polars as pl
from sqlalchemy import Engine as SqlEngine

from nextmove.config import Settings
from nextmove.decisions.repository import DecisionRepository
from nextmove.decisions.service import StoredHook
from nextmove.errors import GovernanceError
from nextmove.execution import service
from nextmove.execution.connectors.registry import ConnectorSet
from nextmove.execution.dispatcher import Dispatcher, kill_switch_check
from nextmove.execution.model import DispatchReport, OutboxItem, OutboxStatus
from nextmove.execution.outbox import list_outbox
from nextmove.execution.service import QueueState
from nextmove.foundation.service import record_frames
from nextmove.governance import queue_service
from nextmove.governance.model import Actor, Approval, ApprovalStatus, KillSwitch, Permission
from nextmove.playbook.model import Playbook
from nextmove.store import UnitOfWork

__all__ = ["ExecutionCalls"]

_SWEEP_LIMIT = 10_000


class ExecutionCalls:
    """From decisions to work in the outside world, exactly once per idempotency key."""

    _database: SqlEngine
    _settings: Settings
    _clock: Callable[[], datetime]
    _connectors: ConnectorSet
    _dispatcher: Dispatcher | None
    _absent: frozenset[str]

    if TYPE_CHECKING:  # provided by the Engine and the mixins after this one

        def _authorise(self, permission: Permission) -> Actor: ...
        def kill_switches(self) -> list[KillSwitch]: ...
        def _required_playbook(self) -> tuple[Playbook, int]: ...

    @property
    def connectors(self) -> ConnectorSet:
        """The connectors actions are sent through."""
        return self._connectors

    @property
    def dispatch_batch_size(self) -> int:
        """How many outbox items one dispatch pass claims at most."""
        return self._settings.dispatch_batch_size

    def set_absent(self, owner_ids: frozenset[str]) -> None:
        """Treat these owners as away: work routed from now on goes to a teammate."""
        self._absent = frozenset(owner_ids)

    def dispatch(self) -> DispatchReport:
        """Send the outbox items due now (one pass), unless a kill switch stops their action."""
        self._authorise(Permission.DECIDE)
        if self._dispatcher is None:
            self._dispatcher = Dispatcher(
                database=self._database,
                connectors=self._connectors,
                batch_size=self._settings.dispatch_batch_size,
                lease=timedelta(seconds=self._settings.dispatch_lease_seconds),
            )
        stopped = kill_switch_check(self.kill_switches())
        return self._dispatcher.dispatch_due(now=self._clock, stopped=stopped)

    def enqueue_approved(self) -> int:
        """Enqueue every approved request not in the outbox yet; return how many were new."""
        self._authorise(Permission.DECIDE)
        with UnitOfWork(self._database) as uow:
            approved = queue_service.list_approvals(
                store=uow,
                actor=self._authorise(Permission.VIEW),
                status=ApprovalStatus.APPROVED,
                limit=_SWEEP_LIMIT,
            )
            added = service.enqueue_approved(
                uow.connection,
                approved,
                playbook=self._active_playbook_or_none(),
                connectors=self._connectors,
                now=self._clock(),
            )
            uow.commit()
        return added

    def outbox(
        self,
        *,
        status: OutboxStatus | None = None,
        account_id: str | None = None,
        limit: int = 100,
        after_id: int | None = None,
    ) -> list[OutboxItem]:
        """Return outbox items (of one status and/or account, after ``after_id``), oldest first."""
        self._authorise(Permission.VIEW)
        with UnitOfWork(self._database) as uow:
            return list_outbox(
                uow.connection, status=status, account_id=account_id, limit=limit, after_id=after_id
            )

    def queues(self) -> QueueState:
        """Return the outbox by status and how long its oldest due item has waited."""
        self._authorise(Permission.VIEW)
        with UnitOfWork(self._database) as uow:
            return service.queue_state(uow.connection, now=self._clock())

    def recommendations(self, *, owner_id: str | None = None, limit: int = 100) -> pl.DataFrame:
        """Return the moves recommended to owners (to one owner), newest first."""
        self._authorise(Permission.VIEW)
        with UnitOfWork(self._database) as uow:
            stored = DecisionRepository(uow.connection).decisions()
        chosen = stored.filter(pl.col("autonomy") == "recommend")
        if owner_id is not None:
            chosen = chosen.filter(pl.col("owner_id") == owner_id)
        return chosen.head(limit)

    # -- hooks the decision and approval calls use ---------------------------------------

    def _acting_on(self, playbook: Playbook, version: int) -> StoredHook:
        """Return the hook that acts on a run's decisions inside its storing transaction
        (who work can be routed to is read there, only when some work goes to a person)."""

        def act(uow: UnitOfWork, run_id: int, decisions: pl.DataFrame) -> None:
            service.act_on_decisions(
                uow,
                decisions,
                playbook=playbook,
                playbook_version=version,
                connectors=self._connectors,
                owners=lambda: record_frames(engine=uow, kinds=("owners",))["owners"],
                now=self._clock(),
                approval_ttl=timedelta(hours=self._settings.approval_hours),
                absent=self._absent,
            )

        return act

    def _enqueue_if_approved(self, uow: UnitOfWork, approval: Approval) -> None:
        service.enqueue_approved(
            uow.connection,
            [approval],
            playbook=self._active_playbook_or_none(),
            connectors=self._connectors,
            now=self._clock(),
        )

    def _active_playbook_or_none(self) -> Playbook | None:
        try:
            return self._required_playbook()[0]
        except GovernanceError:
            return None
