"""The composition root: builds an Engine (store and connectors) from Settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from nextmove.config import Settings, environment
from nextmove.engine import Engine
from nextmove.execution.connectors.registry import (
    ConnectorSet,
    dry_run_connectors,
    load_connectors,
)
from nextmove.store import create_database_engine, upgrade

__all__ = ["build_connectors_for", "build_engine", "system_clock"]


def system_clock() -> datetime:
    """The wall clock, in UTC; only doors and bootstrap use it."""
    return datetime.now(UTC)


def build_connectors_for(settings: Settings) -> ConnectorSet:
    """Return the connectors of ``settings.connectors_file``, or dry-run without one."""
    if settings.connectors_file is None:
        return dry_run_connectors()
    return load_connectors(settings.connectors_file, environ=environment())


def build_engine(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Engine:
    """Return an Engine on ``settings.database_url``, migrating it when allowed."""
    connectors = build_connectors_for(settings)
    database = create_database_engine(settings.database_url)
    if settings.auto_migrate:
        upgrade(database)
    return Engine(
        database=database, settings=settings, clock=clock or system_clock, connectors=connectors
    )
