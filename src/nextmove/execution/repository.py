"""Every query of the execution part: the outbox table, on the caller's connection."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, CursorResult, and_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from nextmove.execution.model import OutboxItem, OutboxStatus
from nextmove.store import tables as t

__all__ = ["OutboxRepository"]

_O = t.outbox
_DUE = (OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.SENDING)


class OutboxRepository:
    """The outbox on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add_new(self, rows: Sequence[dict[str, Any]]) -> list[str]:
        """Insert rows whose idempotency key is not stored yet; return the keys inserted."""
        if not rows:
            return []
        query = _add_new(self._connection.dialect.name == "postgresql")
        inserted = self._connection.execute(query, list(rows)).scalars().all()
        return [str(key) for key in inserted]

    def due_counts(self, at: datetime) -> list[tuple[str, str, int]]:
        """Return (connector, action, count) of the items due at ``at``."""
        query = (
            select(_O.c.connector, _O.c.action, func.count())
            .where(_due(at))
            .group_by(_O.c.connector, _O.c.action)
        )
        return [(str(c), str(a), int(n)) for c, a, n in self._connection.execute(query)]

    def claim(
        self,
        *,
        connector: str,
        at: datetime,
        lease_until: datetime,
        limit: int,
        excluding_actions: Collection[str],
    ) -> list[OutboxItem]:
        """Mark up to ``limit`` due items of ``connector`` as ``sending``; return them.

        Oldest due first. Rows another worker holds are skipped (PostgreSQL's SKIP LOCKED;
        SQLite has one writer). The claim counts as an attempt and holds the item until
        ``lease_until``; after that it is due again, which recovers a crash mid-send.
        """
        if limit <= 0:
            return []
        chosen = (
            select(_O.c.outbox_id)
            .where(_due(at), _O.c.connector == connector)
            .order_by(_O.c.next_attempt_at, _O.c.outbox_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if excluding_actions:
            chosen = chosen.where(_O.c.action.not_in(list(excluding_actions)))
        query = (
            update(_O)
            .where(_O.c.outbox_id.in_(chosen.scalar_subquery()))
            .values(
                status=OutboxStatus.SENDING.value,
                attempts=_O.c.attempts + 1,
                claimed_at=at,
                next_attempt_at=lease_until,
            )
            .returning(*_O.c)
        )
        items = [_item(row._mapping) for row in self._connection.execute(query)]
        return sorted(items, key=lambda item: item.outbox_id)

    def mark_sent(self, item: OutboxItem, *, receipt: dict[str, Any], at: datetime) -> bool:
        """Record a delivery; False when the claim was lost (another worker took over)."""
        return self._finish(
            item,
            status=OutboxStatus.SENT,
            sent_at=at,
            next_attempt_at=None,
            receipt=json.dumps(receipt, sort_keys=True),
            last_error=None,
        )

    def mark_retry(self, item: OutboxItem, *, error: str, retry_at: datetime) -> bool:
        """Record a failure to retry at ``retry_at``; False when the claim was lost."""
        return self._finish(
            item, status=OutboxStatus.FAILED, next_attempt_at=retry_at, last_error=error
        )

    def mark_dead(self, item: OutboxItem, *, error: str, exception_id: int | None) -> bool:
        """Give up on an item; False when the claim was lost."""
        return self._finish(
            item,
            status=OutboxStatus.DEAD,
            next_attempt_at=None,
            last_error=error,
            exception_id=exception_id,
        )

    def get(self, outbox_id: int) -> OutboxItem | None:
        """Return one item, or None."""
        row = self._connection.execute(select(_O).where(_O.c.outbox_id == outbox_id)).first()
        return None if row is None else _item(row._mapping)

    def by_key(self, key: str) -> OutboxItem | None:
        """Return the item with idempotency key ``key``, or None."""
        row = self._connection.execute(select(_O).where(_O.c.idempotency_key == key)).first()
        return None if row is None else _item(row._mapping)

    def listed(
        self,
        *,
        status: OutboxStatus | None = None,
        account_id: str | None = None,
        limit: int = 100,
        after_id: int | None = None,
    ) -> list[OutboxItem]:
        """Return items (of one status and/or account, after ``after_id``), oldest first."""
        query = select(_O).order_by(_O.c.outbox_id).limit(limit)
        if after_id is not None:
            query = query.where(_O.c.outbox_id > after_id)
        if status is not None:
            query = query.where(_O.c.status == status.value)
        if account_id is not None:
            query = query.where(_O.c.account_id == account_id)
        return [_item(row._mapping) for row in self._connection.execute(query)]

    def counts(self) -> dict[OutboxStatus, int]:
        """Return how many items are in each status."""
        query = select(_O.c.status, func.count()).group_by(_O.c.status)
        return {OutboxStatus(s): int(n) for s, n in self._connection.execute(query)}

    def assigned(self, since: datetime, until: datetime) -> dict[str, int]:
        """Return how many items created in ``[since, until)`` each assignee has."""
        found = self._connection.execute(_ASSIGNED, {"since": since, "until": until})
        return {str(a): int(n) for a, n in found}

    def oldest_due(self, at: datetime) -> datetime | None:
        """Return when the longest-waiting item due at ``at`` was created, or None."""
        query = select(func.min(_O.c.created_at)).where(_due(at))
        found = self._connection.execute(query).scalar_one_or_none()
        return None if found is None else _aware(found)

    def _finish(self, item: OutboxItem, **values: Any) -> bool:
        # Only the claim that is still current may record its outcome: after a lease ran
        # out another worker may have claimed the item again (attempts moved on).
        query = (
            update(_O)
            .where(
                _O.c.outbox_id == item.outbox_id,
                _O.c.status == OutboxStatus.SENDING.value,
                _O.c.attempts == item.attempts,
            )
            .values(**{k: v.value if isinstance(v, OutboxStatus) else v for k, v in values.items()})
        )
        result: CursorResult[Any] = self._connection.execute(query)
        return result.rowcount == 1


# Statements every acting decision run executes, built once (building one costs more than
# running it).
_ASSIGNED = (
    select(_O.c.assignee, func.count())
    .where(
        _O.c.created_at >= bindparam("since"),
        _O.c.created_at < bindparam("until"),
        _O.c.assignee.is_not(None),
    )
    .group_by(_O.c.assignee)
)


@lru_cache(maxsize=2)
def _add_new(postgres: bool) -> Any:
    """The insert of :meth:`OutboxRepository.add_new` in PostgreSQL's or SQLite's dialect."""
    builder = postgresql.insert if postgres else sqlite.insert
    return (
        builder(_O)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(_O.c.idempotency_key)
    )


def _due(at: datetime) -> Any:
    return and_(_O.c.status.in_([s.value for s in _DUE]), _O.c.next_attempt_at <= at)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _item(row: Any) -> OutboxItem:
    values = dict(row)
    values["payload"] = json.loads(values["payload"])
    receipt = values.get("receipt")
    values["receipt"] = json.loads(receipt) if receipt else None
    return OutboxItem.model_validate(values)
