"""What a playbook compiles into, computed once per playbook object.

A :class:`~nextmove.playbook.model.Playbook` is frozen, so whatever is derived from it —
the guardrail policy, the day-one model, the windows its rules count signals over — stays
valid while the object lives. The engine hands out one object per stored playbook
version, so deciding one account at a time compiles each version once instead of on
every call. Entries are keyed by the object's identity (a playbook holds dicts, so it has
no hash) together with a hashable key, and the few most recent are kept.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from nextmove.playbook.model import Playbook

__all__ = ["PerPlaybook"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_KEPT = 8
"""Entries kept per cache: a few playbook versions × catalogs or kill-switch sets."""


class PerPlaybook(Generic[K, V]):
    """``compute(playbook, key)``, remembered for the same playbook object and key."""

    def __init__(self, compute: Callable[[Playbook, K], V]) -> None:
        self._compute = compute
        self._entries: OrderedDict[tuple[int, K], tuple[weakref.ref[Playbook], V]] = OrderedDict()

    def __call__(self, playbook: Playbook, key: K) -> V:
        """Return ``compute(playbook, key)``, computing it only the first time."""
        slot = (id(playbook), key)
        found = self._entries.get(slot)
        if found is not None and found[0]() is playbook:  # not another object at that id
            self._entries.move_to_end(slot)
            return found[1]
        value = self._compute(playbook, key)
        self._entries[slot] = (weakref.ref(playbook), value)
        while len(self._entries) > _KEPT:
            self._entries.popitem(last=False)
        return value
