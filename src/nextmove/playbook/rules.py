"""The playbook's eligibility and consent rules as vectorised polars expressions.

Every compiled rule has a ``blocks`` expression that is true for the rows (accounts) it
blocks for its actions. The guardrail filter and ``playbook test`` both evaluate these.

Consent reads the account context's best-contact consent columns (``email_consent``,
``phone_consent``: ``opted_in`` / ``opted_out`` / ``unknown``) and ``do_not_contact``.
A meeting is arranged by email or phone, so it honours both channels' consent.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import reduce
from typing import Literal

import polars as pl

from nextmove.playbook.context import ContextSchema, ValueType
from nextmove.playbook.expressions import check_expression, compile_expression
from nextmove.playbook.model import Channel, ConsentRule, Playbook

__all__ = [
    "CONSENT_COLUMNS",
    "DO_NOT_CONTACT_RULE",
    "OPT_OUT_RULE",
    "CompiledRule",
    "RuleSet",
    "compile_rules",
]

OPT_OUT_RULE = "consent.opt_out"
DO_NOT_CONTACT_RULE = "consent.do_not_contact"
CONSENT_COLUMNS: Mapping[Channel, tuple[str, ...]] = {
    Channel.EMAIL: ("email_consent",),
    Channel.PHONE: ("phone_consent",),
    Channel.MEETING: ("email_consent", "phone_consent"),
}
"""The consent columns an action on each channel must respect."""
_CHANNEL_OF = {"email_consent": "email", "phone_consent": "phone"}


@dataclass(frozen=True)
class CompiledRule:
    """One rule, ready to run: true in ``blocks`` means the rule blocks that account."""

    rule_id: str
    kind: Literal["eligibility", "consent"]
    actions: frozenset[str]
    blocks: pl.Expr
    columns: Mapping[str, ValueType]
    description: str


@dataclass(frozen=True)
class RuleSet:
    """Every compiled rule of one playbook."""

    rules: tuple[CompiledRule, ...]

    @property
    def columns(self) -> dict[str, ValueType]:
        """Every context column some rule reads, with its type."""
        found: dict[str, ValueType] = {}
        for rule in self.rules:
            found.update(rule.columns)
        return found

    @property
    def rule_ids(self) -> frozenset[str]:
        """The ids blocks can be reported under."""
        return frozenset(rule.rule_id for rule in self.rules)

    def for_action(self, action: str) -> tuple[CompiledRule, ...]:
        """Return the rules that can block ``action``."""
        return tuple(rule for rule in self.rules if action in rule.actions)

    def blocked(self, frame: pl.DataFrame, action: str) -> pl.DataFrame:
        """Return a boolean column per rule of ``action``: true where it blocks that row.

        An action no rule covers (``no_action``) gives a frame without columns.
        """
        rules = self.for_action(action)
        names = [rule.rule_id for rule in rules]
        return frame.with_columns(rule.blocks.alias(rule.rule_id) for rule in rules).select(names)


def compile_rules(playbook: Playbook, schema: ContextSchema) -> RuleSet:
    """Return the eligibility and consent rules of a checked playbook, compiled.

    Raises ExpressionInvalid if an eligibility expression does not check (run the
    semantic checks first to get located problems instead).
    """
    rules = [
        _eligibility(playbook, rule.id, rule.require, rule.actions, rule.description, schema)
        for rule in playbook.eligibility
    ]
    for channel in CONSENT_COLUMNS:
        actions = frozenset(n for n, a in playbook.actions.items() if a.channel is channel)
        if actions:
            rules += _consent(playbook, channel, actions, schema)
    return RuleSet(tuple(rules))


def _eligibility(
    playbook: Playbook,
    rule_id: str,
    require: str,
    scope: Literal["all"] | tuple[str, ...],
    description: str,
    schema: ContextSchema,
) -> CompiledRule:
    checked = check_expression(require, schema)
    return CompiledRule(
        rule_id=rule_id,
        kind="eligibility",
        actions=frozenset(playbook.actions_in(scope)),
        blocks=~compile_expression(checked),
        columns=dict(checked.columns),
        description=description or require,
    )


def _consent(
    playbook: Playbook, channel: Channel, actions: frozenset[str], schema: ContextSchema
) -> list[CompiledRule]:
    consent_columns = CONSENT_COLUMNS[channel]
    # eq_missing: as eq(...).fill_null(False), in one node (these run on every decision).
    opted_out = _any(pl.col(c).cast(pl.String).eq_missing("opted_out") for c in consent_columns)
    rules = [
        _consent_rule(
            DO_NOT_CONTACT_RULE,
            actions,
            pl.col("do_not_contact").cast(pl.Boolean).eq_missing(True),  # null: not set
            ("do_not_contact",),
            "nobody at the account may be contacted",
            schema,
        ),
        _consent_rule(
            OPT_OUT_RULE,
            actions,
            opted_out,
            consent_columns,
            f"opted out of {channel} (opt-outs always win)",
            schema,
        ),
    ]
    for rule in playbook.consent.rules:
        columns = tuple(c for c in consent_columns if rule.channel in ("any", _CHANNEL_OF[c]))
        if columns:
            blocks = _in_region(rule, playbook.consent.regions)
            if rule.requires == "opted_in":
                blocks = blocks & _any(
                    pl.col(c).cast(pl.String).ne_missing("opted_in") for c in columns
                )
            description = rule.description or _describe(rule)
            rules.append(
                _consent_rule(
                    rule.id, actions, blocks, ("region", "country", *columns), description, schema
                )
            )
    return rules


def _consent_rule(
    rule_id: str,
    actions: frozenset[str],
    blocks: pl.Expr,
    columns: tuple[str, ...],
    description: str,
    schema: ContextSchema,
) -> CompiledRule:
    types = {c: schema.fields[c].type for c in columns}
    return CompiledRule(rule_id, "consent", actions, blocks, types, description)


def _in_region(rule: ConsentRule, regions: Mapping[str, tuple[str, ...]]) -> pl.Expr:
    """Accounts in the rule's region: by the region field, or by a named group of countries."""
    by_region = pl.col("region").cast(pl.String).eq_missing(pl.lit(rule.region, pl.String))
    countries = regions.get(rule.region, ())
    by_country = pl.col("country").cast(pl.String).is_in(list(countries)).eq_missing(True)
    return by_region | by_country


def _any(expressions: Iterable[pl.Expr]) -> pl.Expr:
    return reduce(operator.or_, expressions)


def _describe(rule: ConsentRule) -> str:
    channel = "any channel" if rule.channel == "any" else rule.channel
    if rule.requires == "never":
        return f"no contact by {channel} in {rule.region}"
    return f"{channel} in {rule.region} requires recorded opt-in"
