"""The importer lands a small file on both databases and re-importing changes nothing."""

from __future__ import annotations

from pathlib import Path

from nextmove import Engine


def test_reimport_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,name,segment\na1,Acme,SMB\na2,Globex,ent\n", encoding="utf-8")
    first = engine.import_file("accounts", accounts)
    second = engine.import_file("accounts", accounts)
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 2)
    assert engine.count("accounts") == 2
