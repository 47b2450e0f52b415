"""The autonomy ladder: how far the system may go on its own with each candidate. Pure.

A candidate's level is worked out in three steps:

1. the action's own level (``actions.<name>.autonomy``);
2. the first override of ``autonomy.actions.<name>.overrides`` that matches, in the order
   written: the account's segment is one of ``segments`` and the expected value lies in
   ``[min_value, max_value)`` (an unknown value matches no value band);
3. an open demotion of the action caps the level: the result is the lower of the two
   (a demotion never raises a level an override had already lowered).

The ladder, lowest first: never · shadow · recommend · approve · auto.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np
import numpy.typing as npt
import polars as pl
from pydantic import BaseModel, ConfigDict

from nextmove.governance.guardrails import distinct_codes
from nextmove.playbook.model import (
    AutonomyLevel,
    AutonomyOverride,
    Demotion,
    DemotionTrigger,
    Playbook,
)

__all__ = [
    "LADDER",
    "AutonomyDemotion",
    "autonomy_levels",
    "demotion_for",
    "lower",
    "required_approvers",
]

LADDER: tuple[AutonomyLevel, ...] = (
    AutonomyLevel.NEVER,
    AutonomyLevel.SHADOW,
    AutonomyLevel.RECOMMEND,
    AutonomyLevel.APPROVE,
    AutonomyLevel.AUTO,
)
_RANK = {level: rank for rank, level in enumerate(LADDER)}


class AutonomyDemotion(BaseModel):
    """An action held below ``auto`` since something happened, until a person restores it."""

    model_config = ConfigDict(frozen=True)

    demotion_id: int
    action: str
    trigger: DemotionTrigger
    level: AutonomyLevel
    reason: str
    demoted_by: str
    demoted_at: datetime
    restored_by: str | None = None
    restored_at: datetime | None = None
    exception_id: int | None = None

    @property
    def active(self) -> bool:
        """Whether the demotion still holds."""
        return self.restored_at is None


def lower(a: AutonomyLevel, b: AutonomyLevel) -> AutonomyLevel:
    """Return the less autonomous of two levels."""
    return a if _RANK[a] <= _RANK[b] else b


def demotion_for(playbook: Playbook, action: str, trigger: DemotionTrigger) -> Demotion | None:
    """Return the demotion ``trigger`` causes for ``action``, or None if it causes none.

    Only an action that can act on its own (``auto``, itself or through an override) is
    demoted; its own demotion list replaces the section's when it has one.
    """
    declared = playbook.actions.get(action)
    if declared is None or action == "no_action":
        return None
    if AutonomyLevel.AUTO not in _own_levels(playbook, action):
        return None
    own = playbook.autonomy.actions.get(action)
    demotions = own.demotions if own and own.demotions is not None else playbook.autonomy.demotions
    return next((d for d in demotions if d.when is trigger), None)


def _own_levels(playbook: Playbook, action: str) -> set[AutonomyLevel]:
    own = playbook.autonomy.actions.get(action)
    overrides = own.overrides if own else ()
    return {playbook.actions[action].autonomy, *(o.level for o in overrides)}


def autonomy_levels(
    playbook: Playbook,
    candidates: pl.DataFrame,
    demoted: Mapping[str, AutonomyLevel] | None = None,
    *,
    segment: str = "segment",
    value: str = "expected_value",
) -> pl.Series:
    """Return each candidate's autonomy level (a String series named ``autonomy``).

    ``candidates`` has ``action`` and the ``segment`` and ``value`` columns; ``demoted``
    maps actions to the level an open demotion holds them at. Unknown actions get
    ``never``; ``no_action`` is always ``auto`` (doing nothing needs nobody's approval).
    """
    demoted = demoted or {}
    names, codes = distinct_codes(candidates["action"])
    rank = np.full(candidates.height, _RANK[AutonomyLevel.NEVER], dtype=np.int8)
    for name, declared in playbook.actions.items():
        if name == "no_action" or name not in names:
            continue
        rows = codes == names.index(name)
        cap = demoted.get(name)

        def capped(level: AutonomyLevel, cap: AutonomyLevel | None = cap) -> int:
            return _RANK[level if cap is None else lower(level, cap)]

        own = playbook.autonomy.actions.get(name)
        np.copyto(rank, capped(declared.autonomy), where=rows)
        for override in reversed(own.overrides if own else ()):  # the first that matches
            matches = rows & _matches(override, candidates, segment, value)
            np.copyto(rank, capped(override.level), where=matches)
    if "no_action" in names:  # doing nothing, whatever the playbook says
        np.copyto(rank, _RANK[AutonomyLevel.AUTO], where=codes == names.index("no_action"))
    return _LEVELS[rank].alias("autonomy")


def _matches(
    override: AutonomyOverride, candidates: pl.DataFrame, segment: str, value: str
) -> npt.NDArray[np.bool_]:
    """Where ``override`` applies: every condition it sets holds (unknown: it does not)."""
    if candidates.height <= _FEW:
        return _few_match(override, candidates, segment, value)
    matches = np.ones(candidates.height, dtype=np.bool_)
    if override.segments is not None:
        named = candidates[segment]
        within = np.zeros(candidates.height, dtype=np.bool_)
        for declared in override.segments:
            within |= _where(named == declared.value)
        matches &= within
    if override.min_value is not None:
        matches &= _where(candidates[value] >= override.min_value)
    if override.max_value is not None:
        matches &= _where(candidates[value] < override.max_value)
    return matches


def _few_match(
    override: AutonomyOverride, candidates: pl.DataFrame, segment: str, value: str
) -> npt.NDArray[np.bool_]:
    """:func:`_matches` for a few candidates, in Python: NaN above every number and null
    neither above nor below, as polars compares."""
    matches = [True] * candidates.height
    if override.segments is not None:
        wanted = {declared.value for declared in override.segments}
        named = candidates[segment].cast(pl.String).to_list()
        matches = [m and name in wanted for m, name in zip(matches, named, strict=True)]
    low, high = override.min_value, override.max_value
    if low is not None or high is not None:
        amounts = candidates[value].cast(pl.Float64).to_list()
        matches = [
            m
            and amount is not None
            and (low is None or amount != amount or amount >= low)
            and (high is None or amount < high)  # NaN: False, as in polars
            for m, amount in zip(matches, amounts, strict=True)
        ]
    return np.array(matches, dtype=np.bool_)


def _where(flags: pl.Series) -> npt.NDArray[np.bool_]:
    """True where ``flags`` is true (not false or null); polars' comparisons, numpy's array."""
    known = flags.fill_null(False) if flags.null_count() else flags
    return np.asarray(known.to_numpy(), dtype=np.bool_)


_FEW = 1_000
"""Up to this many candidates, overrides are matched in Python (no polars comparisons)."""
_LEVELS = pl.Series("autonomy", [level.value for level in LADDER], dtype=pl.String)


def required_approvers(playbook: Playbook, action: str, value: float | None) -> int:
    """Return 2 when the move's value is above the action's four-eyes limit, else 1."""
    own = playbook.autonomy.actions.get(action)
    limit = (
        own.four_eyes_above
        if own and own.four_eyes_above is not None
        else playbook.autonomy.four_eyes_above
    )
    return 2 if limit is not None and value is not None and value > limit else 1
