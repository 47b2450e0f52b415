"""Which kill switch stops an action, and why."""

from __future__ import annotations

from datetime import UTC, datetime

from nextmove.governance.kill_switches import is_killed
from nextmove.governance.model import GLOBAL_TARGET, KillScope, KillSwitch

AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def switch(scope: KillScope, target: str, *, engaged: bool = True, reason: str = "x") -> KillSwitch:
    return KillSwitch(
        scope=scope, target=target, engaged=engaged, reason=reason, changed_by="olga", changed_at=AT
    )


def test_no_switch_stops_nothing() -> None:
    assert is_killed([], action="q4_nurture", motion="digital_program") is None


def test_a_motion_switch_stops_its_actions_only() -> None:
    switches = [switch(KillScope.MOTION, "digital_program", reason="bad copy")]
    reason = is_killed(switches, action="q4_nurture", motion="digital_program")
    assert reason == "kill switch on motion digital_program (engaged by olga): bad copy"
    assert is_killed(switches, action="call", motion="sales_outreach") is None


def test_an_action_switch_stops_that_action_only() -> None:
    switches = [switch(KillScope.ACTION, "q4_nurture")]
    assert is_killed(switches, action="q4_nurture", motion="digital_program")
    assert is_killed(switches, action="q1_nurture", motion="digital_program") is None


def test_the_global_switch_stops_everything_and_wins() -> None:
    switches = [
        switch(KillScope.ACTION, "call", reason="narrow"),
        switch(KillScope.GLOBAL, GLOBAL_TARGET, reason="incident"),
    ]
    reason = is_killed(switches, action="call", motion="sales_outreach")
    assert reason == "kill switch on global (engaged by olga): incident"


def test_a_released_switch_stops_nothing() -> None:
    switches = [switch(KillScope.GLOBAL, GLOBAL_TARGET, engaged=False)]
    assert is_killed(switches, action="call", motion="sales_outreach") is None


def test_a_motion_name_does_not_match_an_action_switch() -> None:
    switches = [switch(KillScope.ACTION, "sales_outreach")]
    assert is_killed(switches, action="call", motion="sales_outreach") is None
