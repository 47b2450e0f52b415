"""Readiness per decision type: the share of its population with enough data to decide on.

``account_facts`` computes, once per assessment, one row per account with a flag per
distinct condition of the rules; ``decision_readiness`` scores one decision type on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import polars as pl

from nextmove.foundation.readiness.context import Context
from nextmove.foundation.readiness.expressions import is_filled, is_recognised
from nextmove.foundation.readiness.model import (
    Blocker,
    Channel,
    Check,
    Condition,
    DecisionReadiness,
    DecisionRule,
    Population,
    Severity,
    Thresholds,
)
from nextmove.foundation.readiness.wording import percent, share_of

__all__ = ["account_facts", "decision_readiness"]


def account_facts(context: Context) -> tuple[pl.DataFrame, dict[Condition, str]]:
    """One row per account: customer or not, latest signal, and one flag per condition."""
    data = context.data
    accounts = data.accounts.filter(pl.col("account_id").is_not_null()).unique(
        "account_id", keep="first", maintain_order=True
    )
    customers = data.holdings["account_id"].drop_nulls().unique()
    latest = (
        data.last_signals.drop_nulls("account_id")
        .group_by("account_id")
        .agg(pl.col("last_signal_at").max().alias("_last_signal"))
    )
    facts = accounts.with_columns(
        pl.col("account_id").is_in(customers.implode()).alias("_customer")
    ).join(latest, on="account_id", how="left")
    signatures = list(
        dict.fromkeys(
            condition.signature
            for rule in context.rules.decision_types.values()
            for condition in rule.conditions
        )
    )
    columns = {condition: f"_condition_{i}" for i, condition in enumerate(signatures)}
    facts = _with_contact_flags(facts, data.contacts, columns)
    facts = facts.with_columns(
        _condition_flag(condition, context, facts.schema).alias(name)
        for condition, name in columns.items()
        if condition.check is not Check.REACHABLE_CONTACT
    )
    return facts, columns


def _with_contact_flags(
    facts: pl.DataFrame, contacts: pl.DataFrame, columns: Mapping[Condition, str]
) -> pl.DataFrame:
    """Add, per reachable-contact condition, whether any contact of the account passes it."""
    reachable = {
        name: _reachable(condition)
        for condition, name in columns.items()
        if condition.check is Check.REACHABLE_CONTACT
    }
    if not reachable:
        return facts
    per_account = (
        contacts.drop_nulls("account_id")
        .group_by("account_id")
        .agg(expr.any().alias(name) for name, expr in reachable.items())
    )
    return facts.join(per_account, on="account_id", how="left").with_columns(
        pl.col(name).fill_null(False) for name in reachable
    )


def _reachable(condition: Condition) -> pl.Expr:
    """A contact-level flag: not do-not-contact and reachable on one of the channels."""

    def allowed(consent: str) -> pl.Expr:
        value = pl.col(consent).fill_null("unknown")
        return value == "opted_in" if condition.consent == "opted_in" else value != "opted_out"

    channels = []
    if Channel.EMAIL in condition.channels:
        channels.append(allowed("email_consent") & is_filled("email", pl.String()))
    if Channel.PHONE in condition.channels:
        channels.append(allowed("phone_consent"))
    return ~pl.col("do_not_contact").fill_null(False) & pl.any_horizontal(channels)


def _condition_flag(
    condition: Condition, context: Context, schema: Mapping[str, pl.DataType]
) -> pl.Expr:
    """An account-level flag for every check but reachable_contact."""
    match condition.check:
        case Check.FILLED:
            return pl.any_horizontal(is_filled(name, schema[name]) for name in condition.fields)
        case Check.KNOWN_VALUE:
            name = condition.vocabulary or condition.fields[0]
            vocabulary = context.rules.vocabularies[name]
            return is_recognised(pl.col(condition.fields[0]), vocabulary).fill_null(False)
        case Check.OWNER:
            owners = context.data.owners
            active = owners.filter(pl.col("active").fill_null(True))["owner_id"].drop_nulls()
            return pl.col("owner_id").is_in(active.implode()).fill_null(False)
        case _:
            days = condition.within_days
            cutoff = context.as_of - timedelta(
                days=context.stale_after_days if days is None else days
            )
            return (pl.col("_last_signal") >= cutoff).fill_null(False)


def _population(population: Population) -> pl.Expr:
    match population:
        case Population.CUSTOMERS:
            return pl.col("_customer")
        case Population.PROSPECTS:
            return ~pl.col("_customer")
        case _:
            return pl.col("account_id").is_not_null()


def decision_readiness(
    name: str,
    rule: DecisionRule,
    facts: pl.DataFrame,
    columns: Mapping[Condition, str],
    context: Context,
) -> DecisionReadiness:
    """Score one decision type: the share of its population meeting every condition."""
    population = _population(rule.population)
    flags = [pl.col(columns[condition.signature]) for condition in rule.conditions]
    ready = population & pl.all_horizontal(flags) if flags else population
    counts = facts.select(
        population.sum().alias("accounts"),
        ready.sum().alias("ready"),
        *[(population & ~flag).sum().alias(f"fail_{i}") for i, flag in enumerate(flags)],
    ).row(0)
    accounts, ready_count, failing = int(counts[0] or 0), int(counts[1] or 0), counts[2:]
    blockers = sorted(
        (
            Blocker(
                condition=condition.describe(context.stale_after_days),
                check=condition.check,
                failing=int(fail or 0),
                share=share_of(int(fail or 0), accounts),
            )
            for condition, fail in zip(rule.conditions, failing, strict=True)
        ),
        key=lambda b: -b.failing,
    )
    score = share_of(ready_count, accounts)
    severity = _decision_severity(score, accounts, context.limits)
    return DecisionReadiness(
        decision_type=name,
        label=rule.label,
        description=rule.description,
        population=rule.population,
        population_label=rule.population.label,
        accounts=accounts,
        ready=ready_count,
        score=score,
        severity=severity,
        headline=_decision_headline(rule, accounts, ready_count, score, blockers),
        blockers=tuple(blockers),
    )


def _decision_severity(score: float, accounts: int, limits: Thresholds) -> Severity:
    if accounts == 0 or score < limits.usable:
        return Severity.CRITICAL if accounts else Severity.WARNING
    return Severity.INFO if score >= limits.ready else Severity.WARNING


def _decision_headline(
    rule: DecisionRule, accounts: int, ready: int, score: float, blockers: list[Blocker]
) -> str:
    who = rule.population.label
    if accounts == 0:
        return f"{rule.label}: there are no {who} to decide for."
    line = f"{rule.label}: {percent(score)} of {who} ({ready:,} of {accounts:,}) have enough data"
    if blockers and blockers[0].failing:
        top = blockers[0]
        line += f"; most often missing: {top.condition} ({top.failing:,} accounts)"
    return line + "."
