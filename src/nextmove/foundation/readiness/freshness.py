"""Freshness: accounts without a recent signal and products past their review date."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from nextmove.foundation.readiness.context import Context
from nextmove.foundation.readiness.model import Finding, FreshnessSummary, Section
from nextmove.foundation.readiness.wording import (
    make_finding,
    named,
    percent,
    share_of,
    share_severity,
)

__all__ = ["assess_freshness"]


def assess_freshness(
    facts: pl.DataFrame, context: Context
) -> tuple[FreshnessSummary, list[Finding]]:
    """Accounts without a recent signal and products past their review date."""
    cutoff = context.as_of - timedelta(days=context.stale_after_days)
    never = facts.filter(pl.col("_last_signal").is_null())
    stale = facts.filter(pl.col("_last_signal") < cutoff).sort("_last_signal")
    products = context.data.products.filter(pl.col("active").fill_null(True))
    review_cutoff = context.as_of.date() - timedelta(days=context.review_after_days)
    unreviewed = products.filter(pl.col("last_reviewed").is_null())
    overdue = products.filter(pl.col("last_reviewed") < review_cutoff).sort("last_reviewed")
    summary = FreshnessSummary(
        stale_after_days=context.stale_after_days,
        review_after_days=context.review_after_days,
        accounts=facts.height,
        stale_accounts=stale.height,
        never_signalled=never.height,
        active_products=products.height,
        past_review=overdue.height,
        never_reviewed=unreviewed.height,
    )
    return summary, [
        *_stale_account_findings(summary, stale, never, context),
        *_review_findings(summary, overdue, unreviewed, context),
    ]


def _stale_account_findings(
    summary: FreshnessSummary, stale: pl.DataFrame, never: pl.DataFrame, context: Context
) -> list[Finding]:
    count = summary.stale_accounts + summary.never_signalled
    if count == 0:
        return []
    share = share_of(count, summary.accounts)
    k = context.limits.examples
    examples = [
        f"{named(account_id, name)}: last signal {moment:%Y-%m-%d}"
        for account_id, name, moment in stale.select("account_id", "name", "_last_signal")
        .head(k)
        .iter_rows()
    ] + [
        f"{named(account_id, name)}: no signal ever"
        for account_id, name in never.select("account_id", "name").head(k).iter_rows()
    ]
    never_part = (
        f", {summary.never_signalled:,} of them none ever" if summary.never_signalled else ""
    )
    headline = (
        f"{count:,} of {summary.accounts:,} accounts ({percent(share)}) have had no signal "
        f"in the last {summary.stale_after_days} days{never_part}."
    )
    if summary.never_signalled == summary.accounts:
        headline = f"None of the {summary.accounts:,} accounts has any signal yet."
    return [
        make_finding(
            Section.FRESHNESS,
            "freshness.stale_accounts",
            share_severity(share, context.limits),
            headline,
            count,
            total=summary.accounts,
            share=share,
            examples=examples[: max(k, 0)],
            suggestion="Check that web, product-usage and intent signals are still imported.",
        )
    ]


def _review_findings(
    summary: FreshnessSummary, overdue: pl.DataFrame, unreviewed: pl.DataFrame, context: Context
) -> list[Finding]:
    count = summary.past_review + summary.never_reviewed
    if count == 0:
        return []
    share = share_of(count, summary.active_products)
    examples = [
        f"{named(product_id, name)}: last reviewed {reviewed:%Y-%m-%d}"
        for product_id, name, reviewed in overdue.select("product_id", "name", "last_reviewed")
        .head(context.limits.examples)
        .iter_rows()
    ] + [
        f"{named(product_id, name)}: never reviewed"
        for product_id, name in unreviewed.select("product_id", "name")
        .head(context.limits.examples)
        .iter_rows()
    ]
    never_part = f" ({summary.never_reviewed:,} never)" if summary.never_reviewed else ""
    return [
        make_finding(
            Section.FRESHNESS,
            "freshness.products_past_review",
            share_severity(share, context.limits),
            f"{count:,} of {summary.active_products:,} active products have not been reviewed "
            f"in {summary.review_after_days} days{never_part}; their product truth may be out "
            "of date.",
            count,
            total=summary.active_products,
            share=share,
            examples=examples[: context.limits.examples],
            suggestion="Ask each product's truth owner to review and re-import the catalog.",
        )
    ]
