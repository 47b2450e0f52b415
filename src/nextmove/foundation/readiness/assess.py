"""The readiness report as a whole: every section assessed once, findings most severe first."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from nextmove.foundation.readiness.completeness import assess_completeness
from nextmove.foundation.readiness.conform import conformed
from nextmove.foundation.readiness.context import Context
from nextmove.foundation.readiness.decisions import account_facts, decision_readiness
from nextmove.foundation.readiness.duplicates import assess_duplicates
from nextmove.foundation.readiness.freshness import assess_freshness
from nextmove.foundation.readiness.model import (
    RECORD_KINDS,
    DecisionReadiness,
    Finding,
    ReadinessInputs,
    ReadinessReport,
    ReadinessRules,
    Section,
    Severity,
    Thresholds,
)
from nextmove.foundation.readiness.ownership import assess_ownership
from nextmove.foundation.readiness.product_names import assess_product_names
from nextmove.foundation.readiness.quarantine import assess_quarantine
from nextmove.foundation.readiness.rules import default_rules
from nextmove.foundation.readiness.vocabulary import assess_vocabulary
from nextmove.foundation.readiness.wording import percent, plural

__all__ = ["assess_readiness"]


def assess_readiness(
    inputs: ReadinessInputs,
    *,
    as_of: date | datetime,
    stale_after_days: int = 60,
    review_after_days: int = 365,
    rules: ReadinessRules | None = None,
) -> ReadinessReport:
    """Return the readiness report of ``inputs`` as of ``as_of``.

    A date ``as_of`` means the start of that day (UTC); a naive datetime is taken as UTC.
    Quarantine is read from the latest import of each file only (earlier runs of the same
    file are history).
    """
    context = Context(
        data=conformed(inputs),
        rules=rules or default_rules(),
        as_of=_as_utc(as_of),
        stale_after_days=stale_after_days,
        review_after_days=review_after_days,
    )
    facts, condition_columns = account_facts(context)
    decisions = tuple(
        decision_readiness(name, rule, facts, condition_columns, context)
        for name, rule in context.rules.decision_types.items()
    )
    completeness, completeness_findings = assess_completeness(context)
    freshness, freshness_findings = assess_freshness(facts, context)
    duplicates, duplicate_findings = assess_duplicates(context)
    ownership, ownership_findings = assess_ownership(context)
    vocabulary, vocabulary_findings = assess_vocabulary(context)
    product_names, product_findings = assess_product_names(context)
    quarantine, quarantine_findings = assess_quarantine(context)
    findings = sorted(
        [
            *completeness_findings,
            *freshness_findings,
            *duplicate_findings,
            *ownership_findings,
            *vocabulary_findings,
            *product_findings,
            *quarantine_findings,
        ],
        key=lambda f: (f.severity.rank, list(Section).index(f.section), -f.count),
    )
    return ReadinessReport(
        as_of=context.as_of,
        headline=_report_headline(decisions, findings, context.limits),
        record_counts={kind: getattr(context.data, kind).height for kind in RECORD_KINDS},
        decisions=decisions,
        findings=tuple(findings),
        completeness=completeness,
        freshness=freshness,
        duplicates=duplicates,
        ownership=ownership,
        vocabulary=vocabulary,
        product_names=product_names,
        quarantine=quarantine,
    )


def _as_utc(moment: date | datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a date: the start of that day)."""
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time(), tzinfo=UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _report_headline(
    decisions: tuple[DecisionReadiness, ...], findings: list[Finding], limits: Thresholds
) -> str:
    """One line: how many decision types are ready, and how many findings need attention."""
    ready = sum(1 for d in decisions if d.accounts and d.score >= limits.ready)
    critical = sum(1 for f in findings if f.severity is Severity.CRITICAL)
    warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
    return (
        f"{ready} of {len(decisions)} decision types have enough data for at least "
        f"{percent(limits.ready)} of their accounts; "
        f"{plural(critical, 'critical finding')}, {plural(warnings, 'warning')}."
    )
