"""The quality benchmark's own count of moves carried out against the example playbook's
contact rules: caps per channel and in all, quiet periods after a touch and a purchase,
each at its window's edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import Playbook
from nextmove.sim.contact_log import ContactLog

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
DAY0 = datetime(2027, 1, 4, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    return load_playbook(EXAMPLE.read_text(encoding="utf-8")).playbook


def _broken(
    playbook: Playbook, moves: list[tuple[int, str]], bought: tuple[int, ...] = ()
) -> list[int]:
    """Carry out one account's moves (day, action) in order; return each one's breaches."""
    log = ContactLog(playbook)
    log.bought(("acc", DAY0 + timedelta(days=d)) for d in bought)
    return [log.carry_out(DAY0 + timedelta(days=d), [("acc", action)]) for d, action in moves]


def test_one_meeting_in_thirty_days(playbook: Playbook) -> None:
    assert _broken(playbook, [(0, "sales_outreach"), (29, "sales_outreach")]) == [0, 1]
    assert _broken(playbook, [(0, "sales_outreach"), (30, "sales_outreach")]) == [0, 0]


def test_one_email_a_week(playbook: Playbook) -> None:
    assert _broken(playbook, [(0, "digital_program"), (6, "digital_program")]) == [0, 1]
    assert _broken(playbook, [(0, "digital_program"), (7, "digital_program")]) == [0, 0]


def test_three_touches_in_thirty_days_on_any_channel(playbook: Playbook) -> None:
    moves = [(0, "digital_program"), (7, "sales_outreach"), (14, "digital_program")]
    assert _broken(playbook, [*moves, (21, "service_conversation")]) == [0, 0, 0, 1]
    assert _broken(playbook, [*moves, (30, "service_conversation")]) == [0, 0, 0, 0]


def test_three_quiet_days_after_a_touch(playbook: Playbook) -> None:
    assert _broken(playbook, [(0, "digital_program"), (2, "service_conversation")]) == [0, 1]
    assert _broken(playbook, [(0, "digital_program"), (3, "service_conversation")]) == [0, 0]


def test_thirty_quiet_days_after_a_purchase_for_the_actions_named(playbook: Playbook) -> None:
    assert _broken(playbook, [(5, "sales_outreach")], bought=(0,)) == [1]
    assert _broken(playbook, [(5, "service_conversation")], bought=(0,)) == [0]  # not named
    assert _broken(playbook, [(30, "digital_program")], bought=(0,)) == [0]
    assert _broken(playbook, [(5, "digital_program")], bought=(6,)) == [0]  # bought later


def test_accounts_are_counted_apart(playbook: Playbook) -> None:
    log = ContactLog(playbook)
    assert log.carry_out(DAY0, [("a", "sales_outreach"), ("b", "sales_outreach")]) == 0
    later = DAY0 + timedelta(days=10)
    assert log.carry_out(later, [("a", "sales_outreach"), ("c", "sales_outreach")]) == 1
