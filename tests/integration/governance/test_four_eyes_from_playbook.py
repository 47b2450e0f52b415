"""Approval requests take their four-eyes rule from the active playbook."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nextmove import Engine

LATER = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("action", "value", "approvers"),
    [
        ("sales_outreach", 80_000, 2),  # above the action's own four_eyes_above (75,000)
        ("sales_outreach", 60_000, 1),  # the action's limit replaces the section's 50,000
        ("digital_program", 60_000, 2),  # the section's limit
        ("digital_program", 50_000, 1),  # "above" is strict
        ("digital_program", None, 1),  # no value, no four-eyes
    ],
)
def test_the_playbook_decides_how_many_approve(
    playbook_engine: Engine, action: str, value: float | None, approvers: int
) -> None:
    approval = playbook_engine.request_approval(
        account_id="acct-1", action=action, payload={}, expires_at=LATER, value=value
    )
    assert approval.required_approvers == approvers
    assert approval.playbook_version == playbook_engine.playbook().version  # type: ignore[union-attr]


def test_an_explicit_count_and_no_playbook_still_work(engine: Engine) -> None:
    plain = engine.request_approval(
        account_id="acct-1", action="x", payload={}, expires_at=LATER, value=10**6
    )
    assert plain.required_approvers == 1 and plain.playbook_version is None
    chosen = engine.request_approval(
        account_id="acct-1", action="x", payload={}, expires_at=LATER, required_approvers=2
    )
    assert chosen.required_approvers == 2
