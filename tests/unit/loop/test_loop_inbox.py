"""The inbox folder's naming and moves, and the playbook's urgent signals. No database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from nextmove.errors import ImportFailed
from nextmove.foundation.model import FileFormat, ImportSummary
from nextmove.loop.inbox import kind_of, take_inbox
from nextmove.playbook.loader import load_playbook

PLAYBOOK = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"


def test_a_file_name_says_its_record_type() -> None:
    assert kind_of(Path("signals-2026-11-02.csv")) == "signals"
    assert kind_of(Path("outcomes.parquet")) == "outcomes"
    assert kind_of(Path("signalsfoo.csv")) is None
    assert kind_of(Path("notes.csv")) is None


def test_imported_files_move_to_done_and_unreadable_ones_to_failed(tmp_path: Path) -> None:
    (tmp_path / "signals-1.csv").write_text("x", encoding="utf-8")
    (tmp_path / "outcomes-1.csv").write_text("x", encoding="utf-8")
    (tmp_path / "readme.txt").write_text("x", encoding="utf-8")
    at = datetime(2026, 11, 2, tzinfo=UTC)

    def importer(kind: str, path: Path) -> ImportSummary:
        if kind == "outcomes":
            raise ImportFailed("missing column occurred_at")
        return ImportSummary(
            run_id=1, kind=kind, file=str(path), file_format=FileFormat.CSV, mapping="canonical",
            rows_read=3, inserted=3, updated=0, unchanged=0, duplicates=0, quarantined_rows=0,
            quarantine_entries=0, started_at=at, finished_at=at,
        )  # fmt: skip

    result = take_inbox(tmp_path, importer)
    assert (result.files, result.rows, result.failed) == (1, 3, ("outcomes-1.csv",))
    assert (tmp_path / "done" / "signals-1.csv").exists()
    assert "occurred_at" in (tmp_path / "failed" / "outcomes-1.csv.error").read_text()
    assert (tmp_path / "readme.txt").exists()


def test_the_example_playbook_marks_surges_and_p1_tickets_urgent() -> None:
    playbook = load_playbook(PLAYBOOK.read_text(encoding="utf-8")).playbook
    urgent = playbook.urgent_signals()
    assert set(urgent) == {"intent_surge", "support_ticket_opened"}
    assert urgent["intent_surge"].covers(0.5)
    assert urgent["support_ticket_opened"].covers(1.0)
    assert not urgent["support_ticket_opened"].covers(2.0)
