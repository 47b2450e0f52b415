"""Persistence: engines, schema, migrations, bulk writes and the unit of work."""

from nextmove.store.bulk import PreparedBatch, WriteCounts, prepare_batch, write_batch
from nextmove.store.database import create_database_engine, is_sqlite
from nextmove.store.migrate import current_revision, head_revision, upgrade
from nextmove.store.unit_of_work import UnitOfWork, joined, reading

__all__ = [
    "PreparedBatch",
    "UnitOfWork",
    "WriteCounts",
    "create_database_engine",
    "current_revision",
    "head_revision",
    "is_sqlite",
    "joined",
    "prepare_batch",
    "reading",
    "upgrade",
    "write_batch",
]
