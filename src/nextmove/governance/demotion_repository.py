"""Stored autonomy demotions (to be folded into ``repository.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from nextmove.governance.autonomy import AutonomyDemotion
from nextmove.store import tables as t

__all__ = ["DemotionRepository"]


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
        table = t.autonomy_demotions
        query = select(table).where(table.c.restored_at.is_(None)).order_by(table.c.demotion_id)
        return [_demotion(row) for row in self._connection.execute(query)]

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
