"""Every query of the measurement part: logged decisions, outcomes, signals, runs (read only)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select, type_coerce

from nextmove.decisions.decision_log import with_model_versions
from nextmove.decisions.repository import reaching_moves
from nextmove.store import tables as t
from nextmove.store.types import UtcDateTime

__all__ = ["MeasurementRepository"]

_UTC = pl.Datetime("us", "UTC")


class MeasurementRepository:
    """Reads for measuring on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def logged(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> pl.DataFrame:
        """Every logged decision (no_action included) of the runs with ``since <= as_of <
        until``, with the run's ``run_id``, ``as_of``, ``playbook_version``, ``model_version``."""
        runs, logs = t.decision_runs, t.decision_logs
        query = (
            select(runs.c.run_id, runs.c.as_of, runs.c.playbook_version, runs.c.model_version,
                   logs.c.content)
            .join(logs, logs.c.run_id == runs.c.run_id)
            .order_by(runs.c.run_id)
        )  # fmt: skip
        if since is not None:
            query = query.where(runs.c.as_of >= since)
        if until is not None:
            query = query.where(runs.c.as_of < until)
        parts = [
            with_model_versions(pl.read_parquet(io.BytesIO(content)), model_version).with_columns(
                run_id=pl.lit(run_id, dtype=pl.Int64),
                as_of=pl.lit(as_of, dtype=_UTC),
                playbook_version=pl.lit(playbook_version, dtype=pl.Int64),
            )
            for run_id, as_of, playbook_version, model_version, content in self._connection.execute(
                query
            )
        ]
        return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()

    def outcomes(self, *, since: datetime | None = None) -> pl.DataFrame:
        """Outcomes that occurred after ``since``."""
        table = t.outcomes
        columns = [table.c.outcome_id, table.c.account_id, table.c.outcome_type,
                   table.c.product_id, table.c.value, table.c.occurred_at]  # fmt: skip
        query = select(*columns)
        if since is not None:
            query = query.where(table.c.occurred_at > since)
        schema = {"outcome_id": pl.String, "account_id": pl.String, "outcome_type": pl.String,
                  "product_id": pl.String, "value": pl.Float64, "occurred_at": _UTC}  # fmt: skip
        return _frame(self._connection, query, schema)

    def segments(self) -> pl.DataFrame:
        """Every account's segment: account_id, segment."""
        table = t.accounts
        query = select(table.c.account_id, table.c.segment)
        return _frame(self._connection, query, {"account_id": pl.String, "segment": pl.String})

    def signal_types(self, *, since: datetime, until: datetime) -> pl.DataFrame:
        """Signals with ``since <= occurred_at < until``: signal_type, occurred_at."""
        table = t.signals
        query = select(table.c.signal_type, table.c.occurred_at).where(
            table.c.occurred_at >= since, table.c.occurred_at < until
        )
        return _frame(self._connection, query, {"signal_type": pl.String, "occurred_at": _UTC})

    def signal_events(
        self, *, since: datetime, until: datetime, types: Sequence[str]
    ) -> pl.DataFrame:
        """Signals of ``types`` with ``since <= occurred_at < until``: account_id,
        signal_type, occurred_at."""
        table = t.signals
        query = select(table.c.account_id, table.c.signal_type, table.c.occurred_at).where(
            table.c.occurred_at >= since,
            table.c.occurred_at < until,
            table.c.signal_type.in_(list(types)),
        )
        schema = {"account_id": pl.String, "signal_type": pl.String, "occurred_at": _UTC}
        return _frame(self._connection, query, schema)

    def touches(self, *, until: datetime) -> pl.DataFrame:
        """Moves that reached people before ``until`` (as decisions read them, see
        :func:`reaching_moves`): account_id, action, occurred_at."""
        query = reaching_moves().where(t.decisions.c.as_of < until)
        schema = {"account_id": pl.String, "action": pl.String, "occurred_at": _UTC}
        return _frame(self._connection, query, schema)

    def runs(self) -> pl.DataFrame:
        """Every finished decision run: run_id, as_of, model_version, summary (JSON text)."""
        table = t.decision_runs
        query = (
            select(table.c.run_id, table.c.as_of, table.c.model_version, table.c.summary)
            .where(table.c.status == "done")
            .order_by(table.c.run_id)
        )
        schema = {"run_id": pl.Int64, "as_of": _UTC, "model_version": pl.String,
                  "summary": pl.String}  # fmt: skip
        return _frame(self._connection, query, schema)

    def account_ids(self) -> pl.Series:
        """The id of every stored account."""
        query = select(t.accounts.c.account_id)
        return _frame(self._connection, query, {"account_id": pl.String})["account_id"]

    def first_signal_at(self) -> datetime | None:
        """When the earliest stored signal occurred (None without signals)."""
        earliest = type_coerce(func.min(t.signals.c.occurred_at), UtcDateTime)
        found: datetime | None = self._connection.execute(select(earliest)).scalar_one()
        return found

    def active_model_as_of(self) -> datetime | None:
        """Where the active response model's training data ends (None without a model)."""
        models = t.models
        found: datetime | None = self._connection.execute(
            select(models.c.as_of).where(models.c.active.is_(True))
        ).scalar()
        return found

    def active_model(self) -> dict[str, Any] | None:
        """The active response model's parameters, or None."""
        models = t.models
        row = self._connection.execute(
            select(models.c.params).where(models.c.active.is_(True))
        ).first()
        return None if row is None else dict(json.loads(row[0]))


def _frame(connection: Connection, query: Any, schema: dict[str, Any]) -> pl.DataFrame:
    rows = connection.execute(query).all()
    return pl.DataFrame(
        {name: [row[i] for row in rows] for i, name in enumerate(schema)}, schema=schema
    )
