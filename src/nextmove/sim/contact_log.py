"""The moves a policy carried out, checked against the playbook's contact rules as a
company's own contact records would be: independent of what the engine knew of them.

The simulator's moves reach an account, not a named contact, so every cap counts per
account (a touch without a contact counts for every contact, as the context reads it).
"The last N days" before a move at ``t`` are ``t − N days < occurred_at ≤ t``. Complaint
quiet periods are not checked (the simulator's moves do not cause complaints).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nextmove.playbook.model import ALL, Playbook

__all__ = ["ContactLog"]


@dataclass
class ContactLog:
    """Moves carried out and purchases so far, per account."""

    playbook: Playbook
    _moves: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)
    _bought: dict[str, list[datetime]] = field(default_factory=dict)

    def carry_out(self, at: datetime, moves: Iterable[tuple[str, str]]) -> int:
        """Log (account, action) moves made at ``at``; return how many broke a cap or quiet
        period given the moves and purchases logged before them."""
        made = list(moves)
        broken = sum(self._breaks(at, account, action) for account, action in made)
        for account, action in made:
            self._moves.setdefault(account, []).append((at, self._channel(action)))
        return broken

    def bought(self, purchases: Iterable[tuple[str, datetime]]) -> None:
        """Log (account, when) purchases."""
        for account, at in purchases:
            self._bought.setdefault(account, []).append(at)

    def _channel(self, action: str) -> str:
        return self.playbook.actions[action].channel.value

    def _breaks(self, at: datetime, account: str, action: str) -> bool:
        channel = self._channel(action)
        earlier = self._moves.get(account, [])
        policies = self.playbook.contact_policies
        for cap in policies.caps:
            if cap.channel not in ("any", channel):
                continue
            since = at - timedelta(days=cap.days)
            seen = sum(1 for t, c in earlier if since < t <= at and cap.channel in ("any", c))
            if seen + 1 > cap.max:
                return True
        for quiet in policies.quiet_periods:
            if quiet.actions != ALL and action not in quiet.actions:
                continue
            if quiet.channel not in ("any", channel):
                continue
            since = at - timedelta(days=quiet.days)
            if quiet.after == "touch":
                times = [t for t, _ in earlier]
            elif quiet.after == "purchase":
                times = self._bought.get(account, [])
            else:
                continue
            if any(since < t <= at for t in times):
                return True
        return False
