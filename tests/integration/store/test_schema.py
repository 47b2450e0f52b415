"""Migrations build exactly the schema the tables declare, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from nextmove import Engine
from nextmove.store import head_revision
from nextmove.store.tables import metadata


def test_migrated_schema_matches_tables(engine: Engine) -> None:
    with engine.database.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []
    assert engine.schema_revision() == (head_revision(), head_revision())


def test_sqlite_runs_in_wal_mode(engine: Engine) -> None:
    if engine.database.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with engine.database.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
