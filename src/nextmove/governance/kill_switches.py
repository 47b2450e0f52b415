"""Whether a kill switch stops an action. Pure: works on the switches read from the store."""

from __future__ import annotations

from collections.abc import Iterable

from nextmove.governance.model import GLOBAL_TARGET, KillScope, KillSwitch

__all__ = ["is_killed"]


def is_killed(switches: Iterable[KillSwitch], *, action: str, motion: str) -> str | None:
    """Return why ``action`` (of ``motion``) is stopped, or None when no switch applies.

    The broadest engaged switch wins: global, then the motion, then the action.
    """
    engaged = {switch.key: switch for switch in switches if switch.engaged}
    for key in (
        (KillScope.GLOBAL, GLOBAL_TARGET),
        (KillScope.MOTION, motion),
        (KillScope.ACTION, action),
    ):
        switch = engaged.get(key)
        if switch is not None:
            return _explain(switch)
    return None


def _explain(switch: KillSwitch) -> str:
    where = "global" if switch.scope is KillScope.GLOBAL else f"{switch.scope} {switch.target}"
    return f"kill switch on {where} (engaged by {switch.changed_by}): {switch.reason}"
