"""Guardrail rules as data: a rule is an id, a description and a polars expression that is
true where a candidate action would break it.

Pure: the constructors below build expressions over a candidates frame, one row per
(account, candidate action), into which the decision engine has joined the context each
rule reads. The column names are part of the contract with that engine:

=====================================  ==================================================
column                                 meaning (null)
=====================================  ==================================================
``action``, ``motion``, ``channel``    the candidate; channel is email/phone/meeting/none
``do_not_contact``                     the account or contact must not be contacted (not set)
``consent__<channel>``                 ``opted_in`` / ``opted_out`` / ``unknown`` (unknown)
``region``                             the region consent rules are keyed on (no region)
``touches__<scope>__<channel>__<N>d``  touches of the account or contact in the last N days,
                                       on one channel or ``any`` (none)
``days_since__<event>``                whole days since the last touch, purchase, complaint…
                                       (never happened)
``autonomy``                           the candidate's level on the autonomy ladder (unknown)
=====================================  ==================================================

Contact rules (consent, caps, quiet periods) only concern candidates that contact someone,
that is whose channel is not ``none``. Where a rule's inputs are null and the table above
gives the null no meaning, the expression is null, and the filter counts a null as a
violation: a guardrail fails closed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

import polars as pl

__all__ = [
    "NO_ACTION",
    "CapacityLimit",
    "Rule",
    "autonomy_never_rule",
    "consent_rule",
    "contact_cap_rule",
    "eligibility_rule",
    "ineligibility_rule",
    "kill_switch_rule",
    "quiet_period_rule",
    "region_consent_rule",
    "touches_column",
]

NO_ACTION = "no_action"
"""The explicit decision to do nothing; no guardrail ever blocks it."""

_KILL_SCOPES = ("global", "motion", "action")
CapScope = Literal["account", "contact"]

_TOKEN = re.compile(r"^[a-z0-9_]+$")
_CONTACTS_SOMEONE = pl.col("channel").ne_missing("none")


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    """One guardrail: ``violated`` is true (or null) where a candidate breaks it.

    ``actions`` limits the rule to those actions; ``None`` means every action.
    """

    rule_id: str
    description: str
    violated: pl.Expr
    actions: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not self.rule_id:
            raise ValueError("a rule needs a non-empty rule_id")
        if self.actions is not None and not isinstance(self.actions, frozenset):
            object.__setattr__(self, "actions", frozenset(self.actions))

    @property
    def columns(self) -> tuple[str, ...]:
        """Return the candidate columns the rule reads, sorted."""
        return tuple(sorted(set(self.violated.meta.root_names())))


@dataclass(frozen=True, slots=True, eq=False)
class CapacityLimit:
    """At most ``limits[group]`` allowed candidates per value of the ``group`` column.

    ``limits`` maps group values (as text) to limits, or names a column holding each
    candidate's group limit (a null there means ``default``; if the candidates competing in
    a group disagree, the smallest limit holds). Groups without a limit get ``default``;
    ``None`` means unlimited. A null group value is a group of its own. ``actions`` limits
    the capacity to those actions; ``None`` means every action but no_action. Only
    candidates that broke no rule compete for capacity.
    """

    rule_id: str
    group: str
    limits: Mapping[str, int] | str
    actions: frozenset[str] | None = None
    default: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.rule_id:
            raise ValueError("a capacity limit needs a non-empty rule_id")
        if self.actions is not None and not isinstance(self.actions, frozenset):
            object.__setattr__(self, "actions", frozenset(self.actions))
        if not isinstance(self.limits, str):
            object.__setattr__(self, "limits", dict(self.limits))  # not the caller's to change
        values = [] if isinstance(self.limits, str) else list(self.limits.values())
        if any(limit < 0 for limit in [*values, self.default or 0]):
            raise ValueError(f"capacity {self.rule_id}: limits must be >= 0")

    @property
    def columns(self) -> tuple[str, ...]:
        """Return the candidate columns the limit reads, sorted."""
        column = [self.limits] if isinstance(self.limits, str) else []
        return tuple(sorted({"action", self.group, *column}))


def consent_rule(*, channels: Iterable[str] = ("email", "phone"), rule_id: str = "consent") -> Rule:
    """Return the rule that an opt-out on the candidate's channel, or do_not_contact, blocks it.

    Reads ``channel``, ``do_not_contact`` and ``consent__<channel>`` for each of
    ``channels`` (channels without a consent column, such as meetings, are governed by
    do_not_contact alone). Opted-out wins over every other consideration.
    """
    opted_out = [
        (pl.col("channel") == channel)
        & pl.col(f"consent__{_token(channel)}").eq_missing("opted_out")
        for channel in channels
    ]
    violated = _CONTACTS_SOMEONE & pl.any_horizontal(
        pl.col("do_not_contact").fill_null(False), *opted_out
    )
    return Rule(
        rule_id,
        "do not contact, or opted out of the candidate's channel",
        violated,
    )


def region_consent_rule(
    region: str, channel: str, *, requires: str = "opted_in", rule_id: str | None = None
) -> Rule:
    """Return the rule that ``channel`` in ``region`` needs consent ``requires`` on record.

    Reads ``region``, ``channel`` and ``consent__<channel>``; a null consent is unknown,
    so it does not meet the requirement. Candidates outside the region (or with no region)
    are not concerned.
    """
    consent = pl.col(f"consent__{_token(channel)}")
    violated = (
        _CONTACTS_SOMEONE
        & pl.col("region").eq_missing(region)
        & pl.col("channel").eq_missing(channel)
        & ~consent.eq_missing(requires)
    )
    return Rule(
        rule_id or f"region_consent:{region}:{channel}",
        f"{channel} in {region} needs consent {requires}",
        violated,
    )


def touches_column(scope: CapScope, channel: str, days: int) -> str:
    """Return the name of the column counting ``scope``'s touches on ``channel`` in ``days``."""
    if scope not in get_args(CapScope):
        raise ValueError(f"cap scope must be account or contact, not {scope!r}")
    return f"touches__{scope}__{_token(channel)}__{days}d"


def contact_cap_rule(
    *,
    scope: CapScope,
    channel: str,
    max_touches: int,
    days: int,
    actions: Collection[str] | None = None,
    rule_id: str | None = None,
) -> Rule:
    """Return the rule that at most ``max_touches`` touches fall in any ``days``-day window.

    Reads ``touches__<scope>__<channel>__<days>d`` (null = no touches) and, unless
    ``channel`` is ``any``, the candidate's ``channel``. The candidate itself would be one
    more touch, so it is blocked when touches already in the window + 1 > ``max_touches``.
    """
    if max_touches < 0 or days <= 0:
        raise ValueError("a contact cap needs max_touches >= 0 and days > 0")
    touches = pl.col(touches_column(scope, channel, days)).fill_null(0)
    # The candidate contacts someone on the cap's channel: for a channel other than none,
    # being on it already says the candidate contacts someone (the same truth values, in
    # fewer nodes: rules are evaluated on every decision).
    if channel == "any":
        on_channel = _CONTACTS_SOMEONE
    elif channel == "none":
        on_channel = _CONTACTS_SOMEONE & pl.col("channel").eq_missing(channel)
    else:
        on_channel = pl.col("channel").eq_missing(channel)
    violated = on_channel & (touches + 1 > max_touches)
    return Rule(
        rule_id or f"contact_cap:{scope}:{channel}:{max_touches}per{days}d",
        f"at most {max_touches} {channel} touch(es) per {scope} in {days} days",
        violated,
        _actions(actions),
    )


def quiet_period_rule(
    *,
    after: str,
    days: int,
    actions: Collection[str] | None = None,
    rule_id: str | None = None,
) -> Rule:
    """Return the rule that nobody is contacted within ``days`` days after an ``after`` event.

    Reads ``days_since__<after>`` (``touch``, ``purchase``, ``complaint``, …; null = never),
    so a candidate is blocked when that is less than ``days``.
    """
    if days <= 0:
        raise ValueError("a quiet period needs days > 0")
    since = pl.col(f"days_since__{_token(after)}")
    violated = _CONTACTS_SOMEONE & (since < days).eq_missing(True)  # as fill_null(False)
    return Rule(
        rule_id or f"quiet_period:{after}:{days}d",
        f"quiet for {days} days after a {after}",
        violated,
        _actions(actions),
    )


def kill_switch_rule(
    engaged: Iterable[tuple[str, str | None]], *, rule_id: str = "kill_switch"
) -> Rule:
    """Return the rule that blocks everything an engaged kill switch covers.

    Each switch is (``global``, any target), (``motion``, motion) or (``action``, action),
    such as the ``key`` of an engaged :class:`~nextmove.governance.model.KillSwitch`; reads
    ``motion`` and ``action``. A candidate whose motion or action is null is blocked while a
    switch of that scope is engaged.
    """
    switches = list(engaged)
    for scope, target in switches:
        if scope not in _KILL_SCOPES:
            raise ValueError(f"kill switch scope must be global, motion or action, not {scope!r}")
        if scope != "global" and not target:
            raise ValueError(f"a {scope} kill switch needs a target")
    motions = sorted({target for scope, target in switches if scope == "motion" and target})
    actions = sorted({target for scope, target in switches if scope == "action" and target})
    parts = [pl.lit(True)] if any(scope == "global" for scope, _ in switches) else []
    if motions:
        parts.append(pl.col("motion").is_in(motions))
    if actions:
        parts.append(pl.col("action").is_in(actions))
    engaged_names = ", ".join(f"{scope}:{target or '*'}" for scope, target in switches)
    return Rule(
        rule_id,
        f"kill switch engaged ({engaged_names or 'none'})",
        (parts[0] if len(parts) == 1 else pl.any_horizontal(parts)) if parts else pl.lit(False),
    )


def eligibility_rule(
    rule_id: str,
    condition: pl.Expr,
    *,
    actions: Collection[str] | None = None,
    description: str = "",
) -> Rule:
    """Return the rule that only candidates meeting ``condition`` may proceed.

    ``condition`` is true where the candidate is eligible; false and null both block. It
    reads whatever columns it names (see :attr:`Rule.columns`).
    """
    return ineligibility_rule(
        rule_id, ~condition.fill_null(False), actions=actions, description=description
    )


def ineligibility_rule(
    rule_id: str,
    blocks: pl.Expr,
    *,
    actions: Collection[str] | None = None,
    description: str = "",
) -> Rule:
    """Return the eligibility rule stated by what it blocks: ``blocks`` is true where the
    candidate is not eligible, and null (unknown) blocks too, as any rule's null does."""
    return Rule(rule_id, description or f"eligibility: {rule_id}", blocks, _actions(actions))


def autonomy_never_rule(
    *,
    never: Collection[str] | None = None,
    column: str = "autonomy",
    rule_id: str = "autonomy_never",
) -> Rule:
    """Return the rule that an action whose autonomy is ``never`` does not happen at all.

    With ``never`` (the actions the playbook sets to never), reads ``action`` only.
    Otherwise reads ``autonomy``, each candidate's level after the playbook's overrides by
    segment or value band; a null level is not known to be allowed, so it blocks too.
    """
    description = "the playbook says this action is never taken"
    if never is not None:
        return Rule(rule_id, description, pl.col("action").is_in(sorted(never)))
    level = pl.col(column)
    return Rule(rule_id, description, level.eq_missing("never") | level.is_null())


def _actions(actions: Collection[str] | None) -> frozenset[str] | None:
    return None if actions is None else frozenset(actions)


def _token(name: str) -> str:
    if not _TOKEN.match(name):
        raise ValueError(f"{name!r} is not a lower-case token usable in a column name")
    return name
