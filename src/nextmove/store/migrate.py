"""Bring a database to the newest schema revision with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from nextmove.errors import StoreError

__all__ = ["current_revision", "head_revision", "upgrade"]

_MIGRATIONS = Path(__file__).parent / "migrations"


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Upgrade the schema to ``revision`` and return the revision now current."""
    try:
        command.upgrade(_config(engine), revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"could not migrate the database: {exc}") from exc
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    """Return the database's schema revision, or None for an empty database."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreError(f"could not read the schema revision: {exc}") from exc


def head_revision() -> str | None:
    """Return the newest revision this version of nextmove knows."""
    return ScriptDirectory(str(_MIGRATIONS)).get_current_head()
