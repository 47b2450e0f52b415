"""The unit of work: one connection, one transaction, owned by the caller."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from sqlalchemy import Connection, Engine

__all__ = ["UnitOfWork", "joined", "reading"]


class UnitOfWork:
    """``with UnitOfWork(engine) as uow: …; uow.commit()`` — anything not committed rolls back.

    After a commit or rollback the unit of work goes on: its next statement begins the
    next transaction.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        """The connection of the open transaction."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open; use it in a with block")
        return self._connection

    def __enter__(self) -> UnitOfWork:
        self._connection = self._engine.connect()
        self._connection.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._connection is not None and self._connection.in_transaction():
                self._connection.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
            self._connection = None

    def commit(self) -> None:
        """Make everything done in this unit of work permanent."""
        self._open().commit()

    def rollback(self) -> None:
        """Undo everything since the last commit."""
        self._open().rollback()

    def _open(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open")
        return self._connection


@contextmanager
def reading(store: Engine | UnitOfWork) -> Iterator[Connection]:
    """Yield the connection to read on: that of the caller's unit of work (so the reads
    see what it wrote and agree with its other reads), or one of a transaction of its own,
    closed (and never committed) afterwards."""
    if isinstance(store, UnitOfWork):
        yield store.connection
        return
    with UnitOfWork(store) as uow:
        yield uow.connection


@contextmanager
def joined(store: Engine | UnitOfWork) -> Iterator[UnitOfWork]:
    """Yield the unit of work to write in: the caller's (which commits it), or one of its
    own, committed when the block ends without an error."""
    if isinstance(store, UnitOfWork):
        yield store
        return
    with UnitOfWork(store) as uow:
        yield uow
        uow.commit()
