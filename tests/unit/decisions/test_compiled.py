"""What a playbook compiles into is computed once per playbook object and key."""

from __future__ import annotations

from pathlib import Path

from nextmove.decisions.compiled import PerPlaybook
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import Playbook

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"


def test_a_value_is_computed_once_per_playbook_object_and_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    first, second = (load_playbook(text).playbook for _ in range(2))
    calls: list[tuple[str, int]] = []

    def actions(playbook: Playbook, extra: int) -> int:
        calls.append((playbook.name, extra))
        return len(playbook.actions) + extra

    cached = PerPlaybook(actions)
    assert [cached(first, 0), cached(first, 0), cached(first, 1)] == [4, 4, 5]
    assert cached(second, 0) == 4  # an equal playbook, but another object
    assert calls == [(first.name, 0), (first.name, 1), (second.name, 0)]


def test_only_the_latest_entries_are_kept() -> None:
    playbook = load_playbook(EXAMPLE.read_text(encoding="utf-8")).playbook
    calls: list[int] = []

    def remember(_: Playbook, key: int) -> int:
        calls.append(key)
        return key

    cached = PerPlaybook(remember)
    for key in [*range(20), 19, 0]:
        cached(playbook, key)
    assert calls == [*range(20), 0]
