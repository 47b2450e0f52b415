"""A playbook compiled into the guardrail filter's rules and capacities (pure).

:func:`guardrail_policy` turns every rule a person wrote in the playbook into a
:class:`~nextmove.governance.guardrail_rules.Rule` or
:class:`~nextmove.governance.guardrail_rules.CapacityLimit` reported under the playbook's
own rule id, so a blocked candidate names the rule someone can go and read:

==============================  =====================================================
rule id                         from
==============================  =====================================================
``kill.global``,                an engaged kill switch (global, on a motion, on an
``kill.<scope>.<target>``       action)
``autonomy.never.<action>``     an action whose autonomy is (or can become) ``never``
``consent.do_not_contact``,     the built-in consent rules (opt-outs always win)
``consent.opt_out``
``<consent rule id>``           ``consent.rules[*].id``
``<eligibility rule id>``       ``eligibility[*].id``
``<cap id>``                    ``contact_policies.caps[*]`` (``cap.<scope>.<channel>.<N>d``
                                when no id is written)
``<quiet period id>``           ``contact_policies.quiet_periods[*]``
                                (``quiet.after_<event>.<N>d`` when no id is written)
``capacity.<team>``             a team's capacity, on ``team_id``
``capacity.<team>.per_owner``   a team's capacity per owner, on ``owner_id``
==============================  =====================================================

Rules come in that order, so the filter names an operator's stop before an opt-out, an
opt-out before a regional consent rule, and consent before eligibility and contact limits.

The candidates frame has one row per (account, candidate action) and, beside the
account context the eligibility expressions read (see :attr:`GuardrailPolicy.columns`):

=====================================  =================================================
column                                 meaning (null)
=====================================  =================================================
``account_id``, ``action``             the account, and the playbook action's name
``channel``                            the action's channel: email/phone/meeting/none
``priority``                           capacity order, higher first (last)
``team_id``, ``owner_id``              the team owning the action, the account's owner
``motion``                             the candidate's motion, for motion kill switches
``autonomy``                           the candidate's level, only for actions that an
                                       override or demotion can make ``never`` (blocks)
``email_consent``, ``phone_consent``   best contact's consent: opted_in / opted_out /
                                       unknown (unknown)
``do_not_contact``                     everyone at the account is do-not-contact (no)
``country``, ``region``                where consent rules apply (outside every region)
``touches__<scope>__<channel>__<N>d``  touches of the account (or its best contact) in
                                       the last N days, per cap (none)
``days_since__<event>``                whole days since the last touch, purchase or
                                       complaint, per quiet period (never happened)
=====================================  =================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from nextmove.governance.guardrail_rules import (
    CapacityLimit,
    Rule,
    contact_cap_rule,
    ineligibility_rule,
    kill_switch_rule,
    quiet_period_rule,
)
from nextmove.governance.model import KillScope, KillSwitch
from nextmove.playbook.context import ContextSchema
from nextmove.playbook.model import (
    ALL,
    ActionScope,
    AutonomyLevel,
    Channel,
    Playbook,
    QuietPeriod,
    TeamCapacity,
)
from nextmove.playbook.rules import OPT_OUT_RULE, CompiledRule, RuleSet, compile_rules

__all__ = ["GuardrailPolicy", "guardrail_policy"]

_KILL_ORDER = (KillScope.GLOBAL, KillScope.MOTION, KillScope.ACTION)


@dataclass(frozen=True)
class GuardrailPolicy:
    """The rules and capacities of one playbook, ready for ``apply_guardrails``."""

    rules: tuple[Rule, ...]
    capacities: tuple[CapacityLimit, ...]

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Every id a candidate can be blocked under, rules then capacities."""
        return tuple(r.rule_id for r in self.rules) + tuple(c.rule_id for c in self.capacities)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every candidate column the rules and capacities read (not ``priority``), sorted."""
        found = {"action"}
        for rule in self.rules:
            found.update(rule.columns)
        for capacity in self.capacities:
            found.update(capacity.columns)
        return tuple(sorted(found))


def guardrail_policy(
    playbook: Playbook, schema: ContextSchema, *, kill_switches: Iterable[KillSwitch] = ()
) -> GuardrailPolicy:
    """Return the guardrail rules and capacities of a checked playbook.

    ``kill_switches`` are the switches read from the store; released ones are ignored.
    Raises ExpressionInvalid if an eligibility expression does not check (run the
    semantic checks first). ``no_action`` is never blocked: the filter exempts it.
    """
    compiled = compile_rules(playbook, schema)
    rules = [
        *_kill_rules(kill_switches),
        *_autonomy_rules(playbook),
        *_consent_rules(playbook, compiled),
        *_eligibility_rules(playbook, compiled),
        *_contact_rules(playbook),
    ]
    capacities = [
        limit
        for team, capacity in playbook.capacity.teams.items()
        for limit in _capacity_limits(playbook, team, capacity)
    ]
    return GuardrailPolicy(tuple(rules), tuple(capacities))


def _kill_rules(switches: Iterable[KillSwitch]) -> list[Rule]:
    """One rule per engaged switch, broadest first, each named after what it stops."""
    engaged = {switch.key: switch for switch in switches if switch.engaged}
    ordered = sorted(engaged.values(), key=lambda s: (_KILL_ORDER.index(s.scope), s.target))
    rules = []
    for switch in ordered:
        is_global = switch.scope is KillScope.GLOBAL
        rule_id = "kill.global" if is_global else f"kill.{switch.scope}.{switch.target}"
        target = None if is_global else switch.target
        rules.append(kill_switch_rule([(str(switch.scope), target)], rule_id=rule_id))
    return rules


def _autonomy_rules(playbook: Playbook) -> list[Rule]:
    """Block actions the playbook says are never taken.

    An action that is always ``never`` is blocked outright; one that only an override or
    a demotion can make ``never`` is blocked where the candidate's ``autonomy`` column says
    so (or is null), since that level depends on the segment, value and demotions.
    """
    rules = []
    for name, action in playbook.actions.items():
        levels = playbook.autonomy.levels_for(action, name)
        if name == "no_action" or AutonomyLevel.NEVER not in levels:
            continue
        autonomy = pl.col("autonomy")
        violated = (
            pl.lit(True)
            if levels == (AutonomyLevel.NEVER,)
            else autonomy.eq_missing(AutonomyLevel.NEVER.value) | autonomy.is_null()
        )
        rules.append(
            Rule(
                f"autonomy.never.{name}",
                f"the playbook says {name} is never taken",
                violated,
                frozenset({name}),
            )
        )
    return rules


def _consent_rules(playbook: Playbook, compiled: RuleSet) -> list[Rule]:
    """The compiled consent rules, keyed on the candidate's ``channel``.

    ``playbook.rules`` compiles consent once per channel over the playbook's context
    columns (``email_consent``, ``phone_consent``, ``do_not_contact``, ``country``,
    ``region``). The governance ``consent_rule`` / ``region_consent_rule`` constructors
    read ``consent__<channel>`` and know neither country groups nor meetings, so these
    rules are built directly: one rule per id, true where the candidate's channel is one
    the compiled rule covers and that rule blocks. A null channel is blocked wherever any
    channel would be.
    """
    parts: dict[str, list[CompiledRule]] = {}
    for rule in compiled.rules:
        if rule.kind == "consent":
            parts.setdefault(rule.rule_id, []).append(rule)
    rules = []
    for rule_id, same in parts.items():
        violated = _on_channels([(_channel_of(playbook, part).value, part.blocks) for part in same])
        description = (
            "opted out of the candidate's channel (a meeting honours email and phone)"
            if rule_id == OPT_OUT_RULE
            else same[0].description
        )
        rules.append(Rule(rule_id, description, violated))
    return rules


def _on_channels(parts: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """True where the candidate's channel is that of a part whose ``blocks`` is true.

    The plain form, ``any_horizontal(channel == c & blocks for each part)``, is what this
    computes, null channel included (null where some part blocks, else false); it is
    evaluated on every decision, so channels whose parts block alike (do_not_contact, a
    regional rule a meeting honours on the same channel as an email) share one test,
    ``channel in [...]``, and a single term needs no ``any_horizontal``.
    """
    groups: list[tuple[list[str], pl.Expr]] = []
    for channel, blocks in parts:
        same = next((group for group in groups if group[1].meta.eq(blocks)), None)
        if same is None:
            groups.append(([channel], blocks))
        elif channel not in same[0]:
            same[0].append(channel)
    on = pl.col("channel").cast(pl.String)
    terms = [
        (on.eq(channels[0]) if len(channels) == 1 else on.is_in(channels)) & blocks
        for channels, blocks in groups
    ]
    return terms[0] if len(terms) == 1 else pl.any_horizontal(terms)


def _channel_of(playbook: Playbook, rule: CompiledRule) -> Channel:
    """The channel a compiled consent rule was compiled for (that of its actions)."""
    return playbook.actions[min(rule.actions)].channel


def _eligibility_rules(playbook: Playbook, compiled: RuleSet) -> list[Rule]:
    """Eligibility: the compiled condition must be true; false and null both block.

    ``eligibility_rule(id, ~blocks)`` would break the rule where ``~(~blocks)
    .fill_null(False)`` is, that is where ``blocks`` is true or null; the filter counts a
    null as broken too, so ``ineligibility_rule(id, blocks)`` is the same rule, without
    three nodes that every decision would evaluate.
    """
    by_id = {rule.rule_id: rule for rule in compiled.rules if rule.kind == "eligibility"}
    return [
        ineligibility_rule(
            written.id,
            by_id[written.id].blocks,
            actions=_scope(playbook, written.actions),
            description=by_id[written.id].description,
        )
        for written in playbook.eligibility
    ]


def _contact_rules(playbook: Playbook) -> list[Rule]:
    """Caps and quiet periods, through the governance constructors.

    They read ``touches__<scope>__<channel>__<N>d`` and ``days_since__<event>``; only
    candidates that contact someone (channel not ``none``) are concerned.
    """
    policies = playbook.contact_policies
    rules = [
        contact_cap_rule(
            scope=cap.scope,
            channel=cap.channel,
            max_touches=cap.max,
            days=cap.days,
            rule_id=cap.rule_id,
        )
        for cap in policies.caps
    ]
    return rules + [_quiet_rule(playbook, quiet) for quiet in policies.quiet_periods]


def _quiet_rule(playbook: Playbook, quiet: QuietPeriod) -> Rule:
    rule = quiet_period_rule(
        after=quiet.after,
        days=quiet.days,
        actions=_scope(playbook, quiet.actions),
        rule_id=quiet.rule_id,
    )
    if quiet.channel == "any":
        return rule
    # The constructor quiets every channel; this period only quiets one.
    on_channel = pl.col("channel").eq_missing(quiet.channel)
    return Rule(
        rule.rule_id,
        f"{rule.description} on {quiet.channel}",
        rule.violated & on_channel,
        rule.actions,
    )


def _capacity_limits(playbook: Playbook, team: str, capacity: TeamCapacity) -> list[CapacityLimit]:
    """The team's limit on ``team_id`` and its per-owner limit on ``owner_id``.

    The filter sees one batch of decisions, so a batch may take at most the smaller of
    the daily and weekly limits; counting what earlier batches already took is the
    caller's job. A team no action belongs to needs no limit.
    """
    actions = frozenset(
        name
        for name, action in playbook.actions.items()
        if action.team == team and name != "no_action"
    )
    if not actions:
        return []
    limits = []
    per_team = _smallest(capacity.per_day, capacity.per_week)
    if per_team is not None:
        limits.append(
            CapacityLimit(
                f"capacity.{team}",
                "team_id",
                {team: per_team},
                actions,
                default=per_team,
                description=f"{team} takes at most {per_team} accounts per batch",
            )
        )
    per_owner = _smallest(capacity.per_owner_per_day, capacity.per_owner_per_week)
    if per_owner is not None:
        limits.append(
            CapacityLimit(
                f"capacity.{team}.per_owner",
                "owner_id",
                {},
                actions,
                default=per_owner,
                description=f"each owner in {team} takes at most {per_owner} accounts per batch",
            )
        )
    return limits


def _smallest(*limits: int | None) -> int | None:
    given = [limit for limit in limits if limit is not None]
    return min(given) if given else None


def _scope(playbook: Playbook, scope: ActionScope) -> frozenset[str] | None:
    """``all`` is every action (the filter exempts ``no_action``), so unknown ones too."""
    return None if scope == ALL else frozenset(playbook.actions_in(scope))
