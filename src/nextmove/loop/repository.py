"""Every query of the agent loop: its stored state, and the urgent signals it watches."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from nextmove.loop.model import LoopState, UrgentSignals
from nextmove.playbook.model import Urgency
from nextmove.store import tables as t

__all__ = ["LoopRepository"]

_S = t.agent_state


class LoopRepository:
    """The loop's state and its signal queries, on the caller's connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def state(self, name: str) -> LoopState | None:
        """Return the stored state of loop ``name``, or None before its first start."""
        row = self._connection.execute(select(_S).where(_S.c.name == name)).first()
        if row is None:
            return None
        values = dict(row._mapping)
        values["last_report"] = json.loads(values["last_report"])
        return LoopState(**values)

    def states(self) -> list[LoopState]:
        """Return every loop's state."""
        names = self._connection.execute(select(_S.c.name).order_by(_S.c.name)).scalars()
        return [state for name in names.all() if (state := self.state(str(name))) is not None]

    def save(self, state: LoopState) -> None:
        """Insert or replace the state of ``state.name``."""
        values: dict[str, Any] = {
            "name": state.name,
            "heartbeat_at": state.heartbeat_at,
            "started_at": state.started_at,
            "cycles": state.cycles,
            "last_cycle_at": state.last_cycle_at,
            "last_batch_at": state.last_batch_at,
            "last_learn_at": state.last_learn_at,
            "signal_watermark": state.signal_watermark,
            "last_report": json.dumps(state.last_report, sort_keys=True),
            "errors": state.errors,
            "last_error": state.last_error,
            "last_error_at": state.last_error_at,
        }
        builder = (
            postgresql.insert if self._connection.dialect.name == "postgresql" else sqlite.insert
        )
        query = builder(_S).values(values)
        changed = {k: v for k, v in values.items() if k != "name"}
        self._connection.execute(query.on_conflict_do_update(index_elements=["name"], set_=changed))

    def beat(self, name: str, at: datetime) -> None:
        """Record that loop ``name`` is alive at ``at``."""
        self._connection.execute(update(_S).where(_S.c.name == name).values(heartbeat_at=at))

    def urgent(
        self, types: Mapping[str, Urgency], *, after: datetime, until: datetime
    ) -> UrgentSignals:
        """Return the accounts with an urgent signal in ``(after, until]``."""
        if not types:
            return UrgentSignals((), None)
        signals = t.signals
        query = select(
            signals.c.account_id, signals.c.signal_type, signals.c.value, signals.c.occurred_at
        ).where(
            signals.c.signal_type.in_(list(types)),
            signals.c.occurred_at > after,
            signals.c.occurred_at <= until,
        )
        accounts: dict[str, None] = {}
        newest: datetime | None = None
        for account, kind, value, occurred in self._connection.execute(query):
            if types[str(kind)].covers(float(value)):
                accounts[str(account)] = None
                newest = occurred if newest is None else max(newest, occurred)
        return UrgentSignals(tuple(accounts), newest)

    def pending_approvals(self) -> int:
        """Return how many approval requests wait for people."""
        query = select(func.count()).where(t.approvals.c.status == "pending")
        return int(self._connection.execute(query).scalar_one())

    def open_exceptions(self) -> int:
        """Return how many exceptions are open."""
        query = select(func.count()).where(t.exceptions.c.status == "open")
        return int(self._connection.execute(query).scalar_one())

    def latest_batch_as_of(self) -> datetime | None:
        """Return the as-of time of the newest batch decision run (a crash may have lost
        the loop's own note of it)."""
        runs = t.decision_runs
        query = select(func.max(runs.c.as_of)).where(runs.c.mode == "batch")
        return self._connection.execute(query).scalar_one_or_none()

    def latest_decision_at(self) -> datetime | None:
        """Return when the newest decision run was stored."""
        runs = t.decision_runs
        return self._connection.execute(select(func.max(runs.c.started_at))).scalar_one_or_none()
