"""Execution fixtures: the database of the ``engine`` fixture and a recording receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from execution_support import Receiver, running_receiver
from sqlalchemy import Engine as SqlEngine

from nextmove import Engine


@pytest.fixture
def db(engine: Engine) -> SqlEngine:
    """The SQLAlchemy engine of a fresh, migrated database."""
    return engine.database


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 recording every request."""
    with running_receiver() as running:
        yield running
