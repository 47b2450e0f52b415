"""Every import run ends with a status, even when something unexpected breaks it."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextmove import Engine
from nextmove.foundation import service


def test_an_unexpected_error_marks_the_run_failed_and_lands_nothing(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("account_id,name\na1,Acme\n", encoding="utf-8")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "prepare_batch", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        engine.import_file("accounts", path)
    run = engine.imports()[0]
    assert run.status == "failed"
    assert "disk on fire" in run.notes[0]
    assert engine.count("accounts") == 0
