"""Deferred indexes come back after a bulk load, and a failed load keeps them."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from nextmove import Engine
from nextmove.store.bulk import deferred_indexes
from nextmove.store.tables import signals


def _index_names(engine: Engine) -> set[str]:
    return {index["name"] or "" for index in inspect(engine.database).get_indexes("signals")}


def test_indexes_are_rebuilt_after_the_load(engine: Engine) -> None:
    before = _index_names(engine)
    assert "ix_signals_account_id_occurred_at" in before
    with engine.database.begin() as connection:
        with deferred_indexes(connection, signals):
            inside = {i["name"] for i in inspect(connection).get_indexes("signals")}
            assert "ix_signals_account_id_occurred_at" not in inside
    assert _index_names(engine) == before


def test_a_failed_load_rolls_the_drop_back(engine: Engine) -> None:
    before = _index_names(engine)
    with pytest.raises(RuntimeError), engine.database.begin() as connection:
        with deferred_indexes(connection, signals):
            raise RuntimeError("the load failed")
    assert _index_names(engine) == before
