"""The unit of work: one connection, one transaction, owned by the caller."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, Engine, RootTransaction

__all__ = ["UnitOfWork"]


class UnitOfWork:
    """``with UnitOfWork(engine) as uow: …; uow.commit()`` — anything not committed rolls back."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None

    @property
    def connection(self) -> Connection:
        """The connection of the open transaction."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open; use it in a with block")
        return self._connection

    def __enter__(self) -> UnitOfWork:
        self._connection = self._engine.connect()
        self._transaction = self._connection.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
            self._connection = None
            self._transaction = None

    def commit(self) -> None:
        """Make everything done in this unit of work permanent."""
        if self._transaction is None:
            raise RuntimeError("the unit of work is not open")
        self._transaction.commit()
        self._transaction = self.connection.begin()

    def rollback(self) -> None:
        """Undo everything since the last commit."""
        if self._transaction is None:
            raise RuntimeError("the unit of work is not open")
        self._transaction.rollback()
        self._transaction = self.connection.begin()
