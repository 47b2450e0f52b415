"""The composition root: builds an Engine from Settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from nextmove.config import Settings
from nextmove.engine import Engine
from nextmove.store import create_database_engine, upgrade

__all__ = ["build_engine", "system_clock"]


def system_clock() -> datetime:
    """The wall clock, in UTC; only doors and bootstrap use it."""
    return datetime.now(UTC)


def build_engine(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Engine:
    """Return an Engine on ``settings.database_url``, migrating it when allowed."""
    database = create_database_engine(settings.database_url)
    if settings.auto_migrate:
        upgrade(database)
    return Engine(database=database, settings=settings, clock=clock or system_clock)
