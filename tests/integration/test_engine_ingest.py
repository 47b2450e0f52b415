"""Engine.ingest takes records and files per kind and lands them in reference order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from nextmove import Engine, ImportFailed, NotFound
from nextmove.domain import Account, Signal


def test_files_and_records_land_in_reference_order(engine: Engine, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,name\na1,Acme\n", encoding="utf-8")
    signal = Signal(
        event_id="e1",
        account_id="a1",
        signal_type="web_visit",
        occurred_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    # signals are given first, but land after the accounts they reference
    summaries = engine.ingest(signals=[signal], accounts=accounts)
    assert [s.kind for s in summaries] == ["accounts", "signals"]
    assert [s.quarantined_rows for s in summaries] == [0, 0]
    assert engine.count("signals") == 1


def test_positional_records_of_mixed_kinds(engine: Engine) -> None:
    signal = Signal(
        event_id="e1",
        account_id="a1",
        signal_type="web_visit",
        occurred_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    summaries = engine.ingest([signal, Account(account_id="a1", name="Acme")])
    assert [(s.kind, s.inserted) for s in summaries] == [("accounts", 1), ("signals", 1)]


def test_wrong_records_for_a_kind_are_refused(engine: Engine) -> None:
    with pytest.raises(ImportFailed, match="accounts= takes Account records"):
        engine.ingest(
            accounts=[
                Signal(
                    event_id="e",
                    account_id="a",
                    signal_type="x",
                    occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
                )
            ]
        )
    with pytest.raises(NotFound, match="unknown record type 'acounts'"):
        engine.ingest(acounts=[])
