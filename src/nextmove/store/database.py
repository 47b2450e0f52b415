"""Engine factory: SQLite in WAL mode by default, PostgreSQL through psycopg 3."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from nextmove.errors import ConfigurationError

__all__ = ["create_database_engine", "is_sqlite"]


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def create_database_engine(url: str) -> Engine:
    """Return a SQLAlchemy engine for ``url`` with nextmove's connection settings."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"database URL {url!r} is not a valid SQLAlchemy URL "
            "(expected sqlite:///path.db or postgresql+psycopg://user@host/db)"
        ) from exc
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": 30})
            event.listen(engine, "connect", _configure_sqlite)
            event.listen(engine, "begin", _begin_sqlite)
            return engine
        return create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigurationError(
            f"no driver for {parsed.drivername}: install the extra with "
            "`pip install 'nextmove[postgres]'`"
        ) from exc


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # The sqlite3 module only opens a transaction before DML, so DDL (dropping an index
    # for a bulk load) would commit on its own; nextmove issues BEGIN itself instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB page cache for bulk work
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    driver = connection.connection.driver_connection
    if isinstance(driver, sqlite3.Connection):
        # Straight to the driver, a fraction of a statement through SQLAlchemy: every
        # transaction (a real-time decision has two) begins here.
        driver.execute("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN")
