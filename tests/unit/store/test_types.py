"""UtcDateTime stores naive UTC and refuses naive input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite

from nextmove.store.types import UtcDateTime


def test_aware_values_are_stored_as_naive_utc() -> None:
    stored = UtcDateTime().process_bind_param(
        datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))), sqlite.dialect()
    )
    assert stored == datetime(2026, 3, 1, 10, 0)


def test_naive_values_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        UtcDateTime().process_bind_param(datetime(2026, 3, 1), sqlite.dialect())


def test_results_come_back_aware() -> None:
    loaded = UtcDateTime().process_result_value("2026-03-01 10:00:00.000000", sqlite.dialect())
    assert loaded == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
