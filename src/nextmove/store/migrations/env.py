"""Alembic environment: runs on the engine handed over by ``nextmove.store.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from nextmove.store.tables import metadata

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through nextmove.store.migrate (`nextmove db upgrade`)")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
