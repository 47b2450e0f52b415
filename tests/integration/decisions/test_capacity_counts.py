"""The capacity stored decisions used is counted per day as they are stored, and counted
from the decisions already stored when the counts arrive (migration 0008): reading it gives
what counting the decisions themselves gives, per action, owner and day."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import polars as pl
from sqlalchemy import insert, select

from nextmove.decisions.repository import DecisionRepository
from nextmove.store import UnitOfWork
from nextmove.store import tables as t
from nextmove.store.database import create_database_engine
from nextmove.store.migrate import upgrade

MONDAY = date(2026, 11, 16)
LEVELS = ["auto", "approve", "recommend", "shadow", "never"]
USING = {"auto", "approve", "recommend"}


def _decisions(run_id: int, n: int, seed: int) -> pl.DataFrame:
    pick = random.Random(seed)
    as_of = [
        datetime(2026, 11, 15, 22, tzinfo=UTC) + timedelta(hours=pick.randint(0, 24 * 9))
        for _ in range(n)
    ]
    return pl.DataFrame(
        {
            "run_id": [run_id] * n,
            "account_id": [f"acc-{pick.randint(0, 50)}" for _ in range(n)],
            "action": [pick.choice(["sales", "email", "no_action"]) for _ in range(n)],
            "product_id": [None] * n,
            "as_of": as_of,
            "expected_value": [1.0] * n,
            "score": [1.0] * n,
            "uplift": [0.1] * n,
            "confidence": [0.9] * n,
            "propensity": [1.0] * n,
            "explored": [False] * n,
            "holdout": [False] * n,
            "autonomy": [pick.choice(LEVELS) for _ in range(n)],
            "owner_id": [pick.choice(["ann", "bob", "cy", None]) for _ in range(n)],
            "reasons": ["{}"] * n,
            "playbook_version": [1] * n,
            "model_version": ["m"] * n,
        },
        schema_overrides={"product_id": pl.String, "as_of": pl.Datetime("us", "UTC")},
    )


def _counted(frame: pl.DataFrame, day: date) -> Counter[tuple[str, str | None, bool]]:
    """The use of the week of ``day``, counted from the decisions themselves."""
    found: Counter[tuple[str, str | None, bool]] = Counter()
    for row in frame.iter_rows(named=True):
        on = row["as_of"].astimezone(UTC).date()
        if row["action"] != "no_action" and row["autonomy"] in USING:
            if MONDAY <= on < MONDAY + timedelta(days=7):
                found[row["action"], row["owner_id"], on == day] += 1
    return found


def _read(
    repository: DecisionRepository, day: date, owners: set[str] | None = None
) -> Counter[tuple[str, str | None, bool]]:
    used = repository.capacity_used(MONDAY, MONDAY + timedelta(days=7), day=day, owners=owners)
    read: Counter[tuple[str, str | None, bool]] = Counter()
    for action, owner, in_day, n in used:
        read[action, owner, in_day] += n
    return read


def _add_run(connection: object, as_of: datetime) -> int:
    values = {
        "mode": "batch",
        "as_of": as_of,
        "started_at": as_of,
        "status": "done",
        "model_version": "m",
        "accounts": 0,
        "actions": 0,
        "summary": "{}",
    }
    return int(connection.execute(insert(t.decision_runs).values(values)).inserted_primary_key[0])  # type: ignore[attr-defined]


def test_counts_kept_while_storing_read_as_the_decisions_count(database_url: str) -> None:
    database = create_database_engine(database_url)
    upgrade(database)
    stored = []
    with UnitOfWork(database) as uow:
        repository = DecisionRepository(uow.connection)
        for seed, size in enumerate([1, 3, 70, 400]):  # a few rows, and a batch's path
            run_id = _add_run(uow.connection, datetime(2026, 11, 20, tzinfo=UTC))
            stored.append(repository.add_decisions(_decisions(run_id, size, seed)))
        uow.commit()
    everything = pl.concat(stored)
    with UnitOfWork(database) as uow:
        repository = DecisionRepository(uow.connection)
        for day in (date(2026, 11, 18), date(2026, 11, 22), date(2026, 11, 25)):
            assert _read(repository, day) == _counted(everything, day)
            # One owner's use, everyone else's as owner None: the same totals per action.
            ann = _read(repository, day, {"ann"})
            assert {k: n for k, n in ann.items() if k[1] == "ann"} == {
                k: n for k, n in _counted(everything, day).items() if k[1] == "ann"
            }
            assert _per_action(ann) == _per_action(_counted(everything, day))
            assert _per_action(_read(repository, day, set())) == _per_action(ann)
    database.dispose()


def _per_action(counts: Counter[tuple[str, str | None, bool]]) -> Counter[tuple[str, bool]]:
    totals: Counter[tuple[str, bool]] = Counter()
    for (action, _owner, in_day), n in counts.items():
        totals[action, in_day] += n
    return +totals


def test_decisions_stored_before_the_counts_are_counted_once(database_url: str) -> None:
    database = create_database_engine(database_url)
    upgrade(database, "0007")
    frame = _decisions(1, 500, seed=9)
    with database.begin() as connection:
        run_id = _add_run(connection, datetime(2026, 11, 20, tzinfo=UTC))
        rows = frame.with_columns(run_id=pl.lit(run_id)).to_dicts()
        for decision_id, row in enumerate(rows, start=1):
            connection.execute(insert(t.decisions).values(decision_id=decision_id, **row))
    upgrade(database)
    with UnitOfWork(database) as uow:
        repository = DecisionRepository(uow.connection)
        day = date(2026, 11, 19)
        assert _read(repository, day) == _counted(frame, day)
        totals = uow.connection.execute(select(t.capacity_by_action.c.decisions)).scalars()
        using = frame.filter(pl.col("action") != "no_action", pl.col("autonomy").is_in(USING))
        assert sum(totals) == using.height  # every day's, this week's and others'
    database.dispose()
