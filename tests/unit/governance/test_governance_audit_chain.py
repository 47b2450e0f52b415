"""The audit hash chain detects edits, deletions and reordering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nextmove.governance.audit import (
    GENESIS_HASH,
    canonical_json,
    entry_content,
    entry_hash,
    next_entry,
    verify_chain,
)
from nextmove.governance.model import AuditEntry

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def chain(length: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for number in range(length):
        entries.append(
            next_entry(
                entries[-1] if entries else None,
                occurred_at=START + timedelta(minutes=number),
                actor="ana",
                action="approval.approve",
                subject=f"approval:{number}",
                details={"n": number, "note": "ok"},
                playbook_version=3,
            )
        )
    return entries


def test_canonical_json_is_one_text_per_meaning() -> None:
    assert canonical_json({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'
    assert canonical_json({"a": [1, "é"], "b": 1}) == canonical_json({"b": 1, "a": [1, "é"]})


def test_entries_chain_from_the_genesis_hash() -> None:
    first, second = chain(2)
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH == "0" * 64
    assert second.prev_hash == first.hash
    assert first.hash == entry_hash(GENESIS_HASH, entry_content(first))
    assert len(first.hash) == 64


def test_the_hash_covers_every_field_but_the_hashes() -> None:
    entry = chain(1)[0]
    assert set(entry_content(entry)) == set(AuditEntry.model_fields) - {"prev_hash", "hash"}


def test_an_intact_chain_verifies() -> None:
    entries = chain(5)
    result = verify_chain(entries)
    assert result.ok and result.checked == 5
    assert result.first_broken_seq is None and result.reason is None
    assert result.head_hash == entries[-1].hash


def test_an_empty_log_is_intact() -> None:
    result = verify_chain([])
    assert result.ok and result.checked == 0 and result.head_hash is None


def test_an_edited_entry_is_named() -> None:
    entries = chain(5)
    entries[2] = entries[2].model_copy(update={"actor": "mallory"})
    result = verify_chain(entries)
    assert not result.ok
    assert result.first_broken_seq == 3 and result.checked == 2
    assert "edited" in (result.reason or "")


def test_an_edited_entry_with_a_recomputed_hash_breaks_the_next_link() -> None:
    entries = chain(5)
    forged = entries[2].model_copy(update={"details": '{"n":99}'})
    entries[2] = forged.model_copy(
        update={"hash": entry_hash(forged.prev_hash, entry_content(forged))}
    )
    result = verify_chain(entries)
    assert result.first_broken_seq == 4
    assert "entry 3" in (result.reason or "")


def test_a_deleted_entry_leaves_a_gap() -> None:
    entries = chain(5)
    del entries[1]
    result = verify_chain(entries)
    assert result.first_broken_seq == 3
    assert result.reason == "entry 2 is missing (deleted?)"


def test_several_deleted_entries_are_named_as_a_range() -> None:
    entries = chain(6)
    del entries[1:4]
    result = verify_chain(entries)
    assert result.first_broken_seq == 5 and "entries 2–4 are missing" in (result.reason or "")


def test_deleting_the_first_entry_is_detected() -> None:
    result = verify_chain(chain(3)[1:])
    assert result.first_broken_seq == 2 and "entry 1 is missing" in (result.reason or "")


def test_reordered_entries_are_detected() -> None:
    entries = chain(4)
    # Swap the contents of two entries but keep the sequence numbers in place.
    second, third = entries[1], entries[2]
    entries[1] = third.model_copy(update={"seq": 2})
    entries[2] = second.model_copy(update={"seq": 3})
    result = verify_chain(entries)
    assert not result.ok and result.first_broken_seq == 2


def test_entries_served_out_of_order_are_detected() -> None:
    entries = chain(3)
    result = verify_chain([entries[0], entries[2], entries[1]])
    assert not result.ok and result.first_broken_seq == 3


def test_truncation_leaves_a_valid_shorter_chain_whose_head_differs() -> None:
    entries = chain(5)
    full, truncated = verify_chain(entries), verify_chain(entries[:3])
    assert truncated.ok and truncated.head_hash != full.head_hash


def test_times_hash_the_same_in_any_time_zone() -> None:
    entry = chain(1)[0]
    shifted = entry.model_copy(
        update={"occurred_at": entry.occurred_at.astimezone(datetime.now(UTC).astimezone().tzinfo)}
    )
    assert verify_chain([shifted]).ok
