"""Every query of the decisions part: runs, decisions, touches, capacity used, models."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, insert, select, update

from nextmove.errors import StoreError
from nextmove.store import prepare_batch, write_batch
from nextmove.store import tables as t
from nextmove.store.types import UtcDateTime

__all__ = ["DecisionRepository"]

_STORED = (
    "decision_id",
    "run_id",
    "account_id",
    "action",
    "product_id",
    "as_of",
    "expected_value",
    "score",
    "uplift",
    "confidence",
    "propensity",
    "explored",
    "holdout",
    "autonomy",
    "owner_id",
    "reasons",
    "playbook_version",
    "model_version",
)
_CHUNK = 200_000
_USING_CAPACITY = ("auto", "approve", "recommend")
"""Autonomy levels whose decisions ask people for work (``shadow`` is only logged)."""


class DecisionRepository:
    """Decisions and models on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def start_run(
        self,
        *,
        mode: str,
        as_of: datetime,
        started_at: datetime,
        playbook_version: int | None,
        model_version: str,
    ) -> int:
        """Record a run that is starting; return its id (this takes the write lock)."""
        query = (
            insert(t.decision_runs)
            .values(
                mode=mode,
                as_of=as_of,
                started_at=started_at,
                status="running",
                playbook_version=playbook_version,
                model_version=model_version,
                accounts=0,
                actions=0,
                summary="{}",
            )
            .returning(t.decision_runs.c.run_id)
        )
        return int(self._connection.execute(query).scalar_one())

    def finish_run(
        self, run_id: int, *, finished_at: datetime, accounts: int, actions: int, summary: str
    ) -> None:
        """Mark a run done with its counts and summary."""
        self._connection.execute(
            update(t.decision_runs)
            .where(t.decision_runs.c.run_id == run_id)
            .values(
                status="done",
                finished_at=finished_at,
                accounts=accounts,
                actions=actions,
                summary=summary,
            )
        )

    def add_decisions(self, decisions: pl.DataFrame) -> None:
        """Append decisions (every stored column but ``decision_id``), numbered in order."""
        if decisions.height == 0:
            return
        if self._connection.dialect.name == "postgresql":
            self._connection.exec_driver_sql("LOCK TABLE decisions IN EXCLUSIVE MODE")
        first = int(
            self._connection.execute(
                select(func.coalesce(func.max(t.decisions.c.decision_id), 0))
            ).scalar_one()
        )
        numbered = decisions.with_columns(
            decision_id=pl.int_range(first + 1, first + 1 + decisions.height, dtype=pl.Int64)
        ).select(_STORED)
        dialect = self._connection.dialect.name
        for start in range(0, numbered.height, _CHUNK):
            chunk = numbered.slice(start, _CHUNK)
            batch = prepare_batch(dialect, chunk, ("decision_id",))
            counts = write_batch(self._connection, t.decisions, batch, append_only=True)
            if counts.inserted != chunk.height:
                raise StoreError(
                    f"{chunk.height - counts.inserted} decisions were not stored "
                    "(another run wrote at the same time?); nothing of this run was kept"
                )

    def decisions(
        self, *, run_id: int | None = None, account_id: str | None = None, limit: int | None = None
    ) -> pl.DataFrame:
        """Return stored decisions, newest first, of a run and/or an account."""
        table = t.decisions
        query = select(table).order_by(table.c.decision_id.desc())
        if run_id is not None:
            query = query.where(table.c.run_id == run_id)
        if account_id is not None:
            query = query.where(table.c.account_id == account_id)
        if limit is not None:
            query = query.limit(limit)
        return _frame(self._connection, query, table.c)

    def capacity_used(self, since: datetime, until: datetime) -> pl.DataFrame:
        """Decisions that use capacity with ``since <= as_of < until``: action, owner_id."""
        table = t.decisions
        query = select(table.c.action, table.c.owner_id).where(
            table.c.as_of >= since,
            table.c.as_of < until,
            table.c.action != "no_action",
            table.c.autonomy.in_(_USING_CAPACITY),
        )
        return _frame(self._connection, query, [table.c.action, table.c.owner_id])

    def touches(self, account_ids: list[str] | None = None) -> pl.DataFrame:
        """Actions that reached people: account_id, action, occurred_at (the decision's as_of).

        Until execution records what was sent, an ``auto`` decision counts as sent.
        """
        table = t.decisions
        query = select(table.c.account_id, table.c.action, table.c.as_of).where(
            table.c.action != "no_action", table.c.autonomy == "auto"
        )
        if account_ids is not None:
            query = query.where(table.c.account_id.in_(account_ids))
        frame = _frame(self._connection, query, [table.c.account_id, table.c.action, table.c.as_of])
        return frame.rename({"as_of": "occurred_at"})

    def logged(self, until: datetime) -> pl.DataFrame:
        """Decisions made before ``until`` (for learning): account, action, product, as_of."""
        table = t.decisions
        columns = [
            table.c.account_id,
            table.c.action,
            table.c.product_id,
            table.c.as_of,
            table.c.propensity,
            table.c.holdout,
        ]
        query = select(*columns).where(table.c.as_of < until)
        return _frame(self._connection, query, columns)

    def save_model(
        self,
        *,
        version: str,
        trained_at: datetime,
        as_of: datetime,
        rows: int,
        params: dict[str, Any],
        metrics: dict[str, float],
    ) -> None:
        """Store a model and make it the active one."""
        models = t.models
        self._connection.execute(update(models).values(active=False))
        exists = self._connection.execute(
            select(models.c.model_version).where(models.c.model_version == version)
        ).first()
        if exists:
            self._connection.execute(
                update(models).where(models.c.model_version == version).values(active=True)
            )
            return
        self._connection.execute(
            insert(models).values(
                model_version=version,
                trained_at=trained_at,
                as_of=as_of,
                rows=rows,
                params=json.dumps(params),
                metrics=json.dumps(metrics),
                active=True,
            )
        )

    def active_model(self) -> dict[str, Any] | None:
        """Return the active model's parameters, or None when none was trained."""
        models = t.models
        row = self._connection.execute(
            select(models.c.params).where(models.c.active.is_(True))
        ).first()
        return None if row is None else dict(json.loads(row[0]))


def _frame(connection: Connection, query: Any, columns: Any) -> pl.DataFrame:
    rows = connection.execute(query).all()
    schema = {column.name: _polars_type(column.type) for column in columns}
    return pl.DataFrame(
        {name: [row[i] for row in rows] for i, name in enumerate(schema)}, schema=schema
    )


def _polars_type(column_type: Any) -> pl.DataType:
    if isinstance(column_type, UtcDateTime):
        return pl.Datetime("us", "UTC")
    python = column_type.python_type
    return {
        str: pl.String(),
        int: pl.Int64(),
        float: pl.Float64(),
        bool: pl.Boolean(),
    }.get(python, pl.String())
