"""Every query of the decisions part: runs, decisions, touches, capacity used, models."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Collection
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Literal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import (
    Connection,
    Select,
    Table,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from nextmove.decisions.decision_log import with_model_versions
from nextmove.errors import StoreError
from nextmove.foundation.repository import frame_of_rows
from nextmove.governance.model import ApprovalStatus
from nextmove.learning.model import ModelRecord, ModelStatus
from nextmove.playbook.model import AutonomyLevel
from nextmove.store import prepare_batch, write_batch
from nextmove.store import tables as t
from nextmove.store.types import UtcDateTime

__all__ = ["DecisionRepository", "reaching_moves"]

_STORED = tuple(column.name for column in t.decisions.c)
_CHUNK = 200_000
_FEW = 64
"""Up to this many decisions, they are numbered in a frame made of their columns."""
_SMALL_LOG = 100
"""A run's log of at most this many decisions is written uncompressed, by pyarrow."""
_USING_CAPACITY = ("auto", "approve", "recommend")
"""Autonomy levels whose decisions ask people for work (``shadow`` is only logged)."""


class DecisionRepository:
    """Decisions and models on one connection (the caller owns the transaction)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add_run(
        self,
        *,
        mode: str,
        as_of: datetime,
        started_at: datetime,
        finished_at: datetime,
        playbook_version: int | None,
        model_version: str,
        accounts: int,
        actions: int,
        summary: str,
    ) -> int:
        """Record a finished run, with its counts and summary; return its id.

        Its decisions, log and audit entry are stored in the same transaction, so no one
        sees the run before it is whole (this takes the write lock).
        """
        values = {
            "mode": mode,
            "as_of": as_of,
            "started_at": started_at,
            "finished_at": finished_at,
            "status": "done",
            "playbook_version": playbook_version,
            "model_version": model_version,
            "accounts": accounts,
            "actions": actions,
            "summary": summary,
        }
        return int(self._connection.execute(_ADD_RUN, values).scalar_one())

    def add_decisions(self, decisions: pl.DataFrame) -> pl.DataFrame:
        """Append decisions (every stored column but ``decision_id``), numbered in order;
        return them as stored, as :meth:`decisions` would read them back (newest first).

        The service stores the ones that ask for something here, and every one in the log.
        """
        if decisions.height == 0:
            return pl.DataFrame(schema=_STORED_TYPES)
        if self._connection.dialect.name == "postgresql":
            self._connection.exec_driver_sql("LOCK TABLE decisions IN EXCLUSIVE MODE")
        first = int(self._connection.execute(_LAST_DECISION_ID).scalar_one())
        stored: pl.DataFrame | None = None
        if decisions.height <= _FEW:  # frames of series: less to set up than queries
            ids = range(first + 1, first + 1 + decisions.height)
            columns = [
                pl.Series("decision_id", ids, dtype=pl.Int64),
                *(decisions.get_column(name) for name in _STORED[1:]),
            ]
            numbered = pl.DataFrame(columns)
            if all(column.dtype == _STORED_TYPES[column.name] for column in columns):
                stored = numbered  # typed as read back already (no schema to compare)
        else:
            numbered = decisions.select(
                pl.int_range(first + 1, first + 1 + decisions.height, dtype=pl.Int64).alias(
                    "decision_id"
                ),
                *_STORED[1:],
            )
        dialect = self._connection.dialect.name
        for start in range(0, numbered.height, _CHUNK):
            chunk = numbered if numbered.height <= _CHUNK else numbered.slice(start, _CHUNK)
            batch = prepare_batch(dialect, chunk, ("decision_id",))
            counts = write_batch(self._connection, t.decisions, batch, append_only=True)
            if counts.inserted != chunk.height:
                raise StoreError(
                    f"{chunk.height - counts.inserted} decisions were not stored "
                    "(another run wrote at the same time?); nothing of this run was kept"
                )
        self._count_capacity(numbered)
        if stored is None:
            # written as given; returned as read back (e.g. a run id given as 32 bits)
            stored = numbered if numbered.schema == _STORED_TYPES else numbered.cast(_STORED_TYPES)
        return stored.reverse() if stored.height > 1 else stored

    def _owners_use(
        self, bounds: dict[str, Any], owners: Collection[str] | None
    ) -> list[tuple[date, str, str, int]]:
        """The counts per day, action and owner in ``bounds``, of ``owners`` (None: all)."""
        if owners is not None and not owners:
            return []
        if owners is None:
            query = _USED_BY_OWNER
        elif len(owners) == 1:  # an equality, not a list
            query, bounds = _USED_BY_ONE_OWNER, {**bounds, "owner": next(iter(owners))}
        else:
            query, bounds = _USED_BY_OWNERS, {**bounds, "owners": sorted(owners)}
        return [(on, a, o, int(n)) for on, a, o, n in self._connection.execute(query, bounds)]

    def _count_capacity(self, decisions: pl.DataFrame) -> None:
        """Add the decisions that use capacity to the counts per day (of as_of in UTC) and
        action, and per day, action and owner, in the decisions' transaction."""
        per_action: Counter[tuple[date, str]] = Counter()
        per_owner: Counter[tuple[date, str, str]] = Counter()
        for on, action, owner_id, n in _capacity_uses(decisions):
            per_action[on, action] += n
            if owner_id is not None:
                per_owner[on, action, owner_id] += n
        postgres = self._connection.dialect.name == "postgresql"
        if per_action:  # in key order: concurrent writers lock rows alike
            rows = [
                {"day": d, "action": a, "decisions": n} for (d, a), n in sorted(per_action.items())
            ]
            self._connection.execute(_add_use(t.capacity_by_action, postgres), rows)
        if per_owner:
            rows = [
                {"day": d, "action": a, "owner_id": o, "decisions": n}
                for (d, a, o), n in sorted(per_owner.items())
            ]
            self._connection.execute(_add_use(t.capacity_by_owner, postgres), rows)

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

    def capacity_used(
        self, since: date, until: date, *, day: date, owners: Collection[str] | None = None
    ) -> list[tuple[str, str | None, bool, int]]:
        """How many decisions that use capacity were made on the days from ``since`` to
        ``until`` (excluded, by as_of in UTC): (action, owner_id, ``in_day``, decisions)
        rows, ``in_day`` true for those of ``day``.

        Per owner for ``owners`` (None: every owner); each action's other decisions (other
        owners', and unowned accounts') as owner None. Read from the counts kept per day
        (see :meth:`add_decisions`): a few rows however many decisions there were.
        """
        bounds: dict[str, Any] = {"since": since, "until": until}
        totals: Counter[tuple[str, bool]] = Counter()
        for on, action, n in self._connection.execute(_USED_BY_ACTION, bounds):
            totals[action, on == day] += n
        owned: Counter[tuple[str, str | None, bool]] = Counter()
        for on, action, owner_id, n in self._owners_use(bounds, owners):
            owned[action, owner_id, on == day] += n
            totals[action, on == day] -= n
        rest = [(action, None, in_day, n) for (action, in_day), n in totals.items() if n > 0]
        return [(a, o, in_day, n) for (a, o, in_day), n in owned.items()] + rest

    def touches(self, account_ids: list[str] | None = None) -> pl.DataFrame:
        """Moves that reach people: account_id, action, occurred_at (the decision's as_of).

        Until execution records what was sent, a move counts from its decision: an
        ``auto`` one as sent, an ``approve`` one while its request is pending or once it
        is approved (not when people rejected it or let it expire), and a ``recommend``
        one as done (its owner was asked to act, and nothing says whether they did).
        """
        ids: dict[str, Any]
        if account_ids is not None and len(account_ids) == 1:  # an equality, not a list
            query, ids = _touches_query("one"), {"account_id": account_ids[0]}
        elif account_ids is not None:
            query, ids = _touches_query("many"), {"account_ids": list(account_ids)}
        else:
            query, ids = _touches_query("all"), {}
        return frame_of_rows(self._connection.execute(query, ids).all(), _TOUCHES)

    def save_log(self, run_id: int, decisions: pl.DataFrame) -> None:
        """Store every decision of a run as one compressed Parquet file."""
        if decisions.height > _SMALL_LOG:
            buffer = io.BytesIO()
            decisions.write_parquet(buffer, compression="zstd", compression_level=3)
            content = buffer.getvalue()
        else:  # a few rows (one account's run): pyarrow's writer has less to set up, and
            # statistics and dictionaries of a few values would only be read past
            table = _arrow_table(decisions)
            sink = pa.BufferOutputStream()  # written to in C, not through a Python file
            with pq.ParquetWriter(
                sink,
                table.schema,
                compression="none",
                use_dictionary=False,
                write_statistics=False,
            ) as writer:
                writer.write_table(table)
            content = sink.getvalue().to_pybytes()
        self._connection.execute(
            _ADD_LOG, {"run_id": run_id, "rows": decisions.height, "content": content}
        )

    def log(self, run_id: int) -> pl.DataFrame:
        """Return every decision of a run (empty when the run has no log)."""
        found = self._connection.execute(
            select(t.decision_logs.c.content).where(t.decision_logs.c.run_id == run_id)
        ).first()
        if found is None:
            return pl.DataFrame()
        return _with_run(pl.read_parquet(io.BytesIO(found[0])), run_id)

    def logged(
        self,
        *,
        until: datetime | None = None,
        newest: int | None = None,
        since: datetime | None = None,
    ) -> pl.DataFrame:
        """Every logged decision of the runs made before ``until`` (and from ``since``; or
        the ``newest`` runs), with the run's ``run_id``, ``as_of``, ``playbook_version``
        and ``model_version``."""
        runs, logs = t.decision_runs, t.decision_logs
        query = (
            select(
                runs.c.run_id,
                runs.c.as_of,
                runs.c.playbook_version,
                runs.c.model_version,
                logs.c.content,
            )
            .join(logs, logs.c.run_id == runs.c.run_id)
            .order_by(runs.c.run_id.desc())
        )
        if until is not None:
            query = query.where(runs.c.as_of < until)
        if since is not None:
            query = query.where(runs.c.as_of >= since)
        if newest is not None:
            query = query.limit(newest)
        parts = [
            _with_run(pl.read_parquet(io.BytesIO(content)), run_id, model_version).with_columns(
                as_of=pl.lit(as_of, dtype=pl.Datetime("us", "UTC")),
                playbook_version=pl.lit(playbook_version, dtype=pl.Int64),
            )
            for run_id, as_of, playbook_version, model_version, content in self._connection.execute(
                query
            )
        ]
        return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()

    def save_model(
        self,
        *,
        version: str,
        trained_at: datetime,
        data_from: datetime | None,
        as_of: datetime,
        rows: int,
        params: dict[str, Any],
        metrics: dict[str, float],
        status: ModelStatus,
        evaluation: dict[str, Any],
    ) -> None:
        """Register a fitted model with its status (a champion replaces the one before)."""
        if status is ModelStatus.CHAMPION:
            self._retire_champion(trained_at)
        self._connection.execute(
            insert(t.models).values(
                model_version=version,
                trained_at=trained_at,
                data_from=data_from,
                as_of=as_of,
                rows=rows,
                params=json.dumps(params),
                metrics=json.dumps(metrics),
                active=status is ModelStatus.CHAMPION,
                status=status.value,
                status_at=trained_at,
                evaluation=json.dumps(evaluation, default=str),
            )
        )

    def set_model_status(
        self, version: str, status: ModelStatus, *, at: datetime, evaluation: dict[str, Any]
    ) -> None:
        """Change a model's status (a new champion retires the one before)."""
        if status is ModelStatus.CHAMPION:
            self._retire_champion(at)
        self._connection.execute(
            update(t.models)
            .where(t.models.c.model_version == version)
            .values(
                status=status.value,
                active=status is ModelStatus.CHAMPION,
                status_at=at,
                evaluation=json.dumps(evaluation, default=str),
            )
        )

    def _retire_champion(self, at: datetime) -> None:
        self._connection.execute(
            update(t.models)
            .where(t.models.c.active.is_(True))
            .values(active=False, status=ModelStatus.RETIRED.value, status_at=at)
        )

    def active_model(self) -> dict[str, Any] | None:
        """Return the champion's parameters, or None when none was trained."""
        row = self._connection.execute(_CHAMPION).first()
        return None if row is None else dict(json.loads(row[0]))

    def challenger_model(self) -> tuple[str, dict[str, Any]] | None:
        """Return the live challenger's version and parameters, or None."""
        row = self._connection.execute(_CHALLENGER).first()
        return None if row is None else (str(row[0]), dict(json.loads(row[1])))

    def serving_models(
        self,
    ) -> tuple[dict[str, Any] | None, tuple[str, dict[str, Any]] | None]:
        """Return :meth:`active_model` and :meth:`challenger_model`, read in one query."""
        champion: dict[str, Any] | None = None
        challenger: tuple[str, dict[str, Any]] | None = None
        for version, params, active, status in self._connection.execute(_SERVING):
            if active and champion is None:
                champion = dict(json.loads(params))
            elif status == ModelStatus.CHALLENGER.value and challenger is None:
                challenger = (str(version), dict(json.loads(params)))
        return champion, challenger

    def model_records(
        self, *, version: str | None = None, status: ModelStatus | None = None
    ) -> list[ModelRecord]:
        """Return the registry's records, newest first (one version, or of one status)."""
        models = t.models
        query = select(
            models.c.model_version,
            models.c.status,
            models.c.trained_at,
            models.c.data_from,
            models.c.as_of,
            models.c.rows,
            models.c.metrics,
            models.c.evaluation,
            models.c.status_at,
        ).order_by(models.c.trained_at.desc(), models.c.model_version)
        if version is not None:
            query = query.where(models.c.model_version == version)
        if status is not None:
            query = query.where(models.c.status == status.value)
        return [
            ModelRecord(
                version=row.model_version,
                status=ModelStatus(row.status),
                trained_at=row.trained_at,
                data_from=row.data_from,
                as_of=row.as_of,
                rows=row.rows,
                metrics=json.loads(row.metrics),
                evaluation=json.loads(row.evaluation),
                status_at=row.status_at,
            )
            for row in self._connection.execute(query)
        ]

    def model_params(self, version: str) -> dict[str, Any] | None:
        """Return one registered model's parameters, or None."""
        row = self._connection.execute(
            select(t.models.c.params).where(t.models.c.model_version == version)
        ).first()
        return None if row is None else dict(json.loads(row[0]))


def _arrow_table(frame: pl.DataFrame) -> pa.Table:
    """``frame.to_arrow()``; of columns of plain types, made column by column, which for a
    few rows costs less than the frame's conversion (it wakes polars' threads)."""
    columns = frame.get_columns()
    if all(isinstance(column.dtype, _PLAIN) for column in columns):
        return pa.Table.from_arrays([column.to_arrow() for column in columns], names=frame.columns)
    return frame.to_arrow()


_PLAIN = (
    pl.String,
    pl.Boolean,
    pl.Float64,
    pl.Float32,
    pl.Int64,
    pl.Int32,
    pl.Int16,
    pl.Int8,
    pl.UInt64,
    pl.UInt32,
    pl.UInt16,
    pl.UInt8,
    pl.Datetime,
    pl.Date,
)
"""Types whose arrow field a column's conversion gives as the frame's does (an enum's or a
categorical's field carries metadata only the frame's conversion adds)."""


def _with_run(frame: pl.DataFrame, run_id: int, model_version: str | None = None) -> pl.DataFrame:
    """A run's log with its id and, given the run's model, each decision's: the run's
    unless the log names its own (accounts a challenger decided)."""
    framed = frame.with_columns(run_id=pl.lit(run_id, dtype=pl.Int64))
    return framed if model_version is None else with_model_versions(framed, model_version)


# Statements run again and again (every decision), built once: building one costs more
# than running it.
_ADD_RUN = insert(t.decision_runs).returning(t.decision_runs.c.run_id)
_ADD_LOG = insert(t.decision_logs)
_LAST_DECISION_ID = select(func.coalesce(func.max(t.decisions.c.decision_id), 0))
_CHAMPION = select(t.models.c.params).where(t.models.c.active.is_(True))
_CHALLENGER = (
    select(t.models.c.model_version, t.models.c.params)
    .where(t.models.c.status == ModelStatus.CHALLENGER.value)
    .order_by(t.models.c.status_at.desc())
)
_SERVING = (
    select(t.models.c.model_version, t.models.c.params, t.models.c.active, t.models.c.status)
    .where(or_(t.models.c.active.is_(True), t.models.c.status == ModelStatus.CHALLENGER.value))
    .order_by(t.models.c.status_at.desc())
)
_BY_ACTION, _BY_OWNER = t.capacity_by_action, t.capacity_by_owner
_USED_BY_ACTION = select(_BY_ACTION.c.day, _BY_ACTION.c.action, _BY_ACTION.c.decisions).where(
    _BY_ACTION.c.day >= bindparam("since"), _BY_ACTION.c.day < bindparam("until")
)
_USED_BY_OWNER = select(
    _BY_OWNER.c.day, _BY_OWNER.c.action, _BY_OWNER.c.owner_id, _BY_OWNER.c.decisions
).where(_BY_OWNER.c.day >= bindparam("since"), _BY_OWNER.c.day < bindparam("until"))
_USED_BY_ONE_OWNER = _USED_BY_OWNER.where(_BY_OWNER.c.owner_id == bindparam("owner"))
_USED_BY_OWNERS = _USED_BY_OWNER.where(
    _BY_OWNER.c.owner_id.in_(bindparam("owners", expanding=True))
)


@lru_cache(maxsize=4)
def _add_use(table: Table, postgres: bool) -> Any:
    """Add to a count of capacity used (the row is made at its first use)."""
    builder = postgresql.insert if postgres else sqlite.insert
    statement = builder(table)
    keys = [column.name for column in table.primary_key.columns]
    return statement.on_conflict_do_update(
        index_elements=keys, set_={"decisions": table.c.decisions + statement.excluded.decisions}
    )


def _capacity_uses(decisions: pl.DataFrame) -> list[tuple[date, str, str | None, int]]:
    """(day of as_of in UTC, action, owner_id, decisions) of the decisions that use
    capacity: those that ask people for work."""
    if decisions.height <= _FEW:  # one account's: no query
        columns = (decisions[c].to_list() for c in ("as_of", "action", "owner_id", "autonomy"))
        counted: Counter[tuple[date, str, str | None]] = Counter(
            (_utc_day(as_of), action, owner_id)
            for as_of, action, owner_id, autonomy in zip(*columns, strict=True)
            if action != "no_action" and autonomy in _USING_CAPACITY
        )
        return [(on, action, owner_id, n) for (on, action, owner_id), n in counted.items()]
    as_of = pl.col("as_of")
    dtype = decisions.schema["as_of"]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        as_of = as_of.dt.convert_time_zone("UTC")
    grouped = (
        decisions.lazy()
        .filter(pl.col("action") != "no_action", pl.col("autonomy").is_in(_USING_CAPACITY))
        .group_by(as_of.dt.date().alias("day"), "action", "owner_id")
        .len()
        .collect()
    )
    return [(on, action, owner_id, int(n)) for on, action, owner_id, n in grouped.iter_rows()]


def _utc_day(moment: datetime) -> date:
    """The day of ``moment`` in UTC (a naive moment is read as UTC)."""
    return (moment if moment.tzinfo is None else moment.astimezone(UTC)).date()


_TOUCHES = {
    "account_id": pl.String(),
    "action": pl.String(),
    "occurred_at": pl.Datetime("us", "UTC"),
}


_REACHING = tuple(
    level.value for level in (AutonomyLevel.AUTO, AutonomyLevel.APPROVE, AutonomyLevel.RECOMMEND)
)
"""Autonomy levels whose moves reach people (see :meth:`DecisionRepository.touches`)."""
_DECLINED = (ApprovalStatus.REJECTED.value, ApprovalStatus.EXPIRED.value)
"""Approval outcomes after which the move never happens."""


def reaching_moves() -> Select[Any]:
    """Stored moves that reach people (see :meth:`DecisionRepository.touches`):
    account_id, action, as_of."""
    table = t.decisions
    declined = (
        select(t.approvals.c.approval_id)
        .where(
            t.approvals.c.decision_id == table.c.decision_id,
            t.approvals.c.status.in_(_DECLINED),
        )
        .exists()
    )
    return select(table.c.account_id, table.c.action, table.c.as_of).where(
        table.c.action != "no_action",
        table.c.autonomy.in_(_REACHING),
        ~((table.c.autonomy == AutonomyLevel.APPROVE.value) & declined),
    )


@lru_cache(maxsize=3)
def _touches_query(scope: Literal["all", "one", "many"]) -> Select[Any]:
    """The query of :meth:`DecisionRepository.touches`: of every account, or of the one
    ``account_id`` or the many ``account_ids`` bound at execution (built once: deciding one
    account reads it every call)."""
    table = t.decisions
    query = reaching_moves()
    if scope == "one":
        query = query.where(table.c.account_id == bindparam("account_id"))
    elif scope == "many":
        query = query.where(table.c.account_id.in_(bindparam("account_ids", expanding=True)))
    return query


def _frame(connection: Connection, query: Any, columns: Any) -> pl.DataFrame:
    rows = connection.execute(query).all()
    return frame_of_rows(rows, {column.name: _polars_type(column.type) for column in columns})


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


_STORED_TYPES = pl.Schema({column.name: _polars_type(column.type) for column in t.decisions.c})
"""The polars types the stored decisions read into."""
