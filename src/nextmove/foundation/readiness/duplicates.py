"""Duplicates: probable duplicate accounts (scored by ``identity.py``; none is merged)."""

from __future__ import annotations

import polars as pl

from nextmove.foundation.identity import duplicate_pairs, pairs_from_frame
from nextmove.foundation.readiness.context import Context
from nextmove.foundation.readiness.model import DuplicateSummary, Finding, ReadinessRules, Section
from nextmove.foundation.readiness.wording import make_finding, percent, share_of, share_severity

__all__ = ["assess_duplicates"]


def _country_codes(rules: ReadinessRules) -> dict[str, str]:
    """Lower-case country spellings → code, from the ``country`` vocabulary if there is one."""
    vocabulary = rules.vocabularies.get("country")
    if vocabulary is None:
        return {}
    return {
        **{value.lower(): value for value in vocabulary.values},
        **{name.lower(): code for name, code in vocabulary.synonyms.items()},
    }


def assess_duplicates(context: Context) -> tuple[DuplicateSummary, list[Finding]]:
    """Probable duplicate accounts at or above the confidence threshold."""
    limits = context.limits
    pairs = duplicate_pairs(
        context.data.accounts,
        name_threshold=limits.duplicate_name_score,
        free_mail=context.rules.free_mail_domains,
        country_codes=_country_codes(context.rules),
    ).filter(pl.col("confidence") >= limits.duplicate_confidence)
    involved = pl.concat([pairs["account_id_a"], pairs["account_id_b"]]).n_unique()
    summary = DuplicateSummary(
        pairs=pairs.height, accounts=involved, top=tuple(pairs_from_frame(pairs.head(limits.top)))
    )
    if not pairs.height:
        return summary, []
    share = share_of(involved, context.data.accounts.height)
    examples = [
        f"{p.name_a} ({p.account_id_a}) ~ {p.name_b} ({p.account_id_b}): {', '.join(p.reasons)}"
        for p in summary.top[: limits.examples]
    ]
    return summary, [
        make_finding(
            Section.DUPLICATES,
            "duplicates.accounts",
            share_severity(share, limits),
            f"{pairs.height:,} pairs of accounts look like duplicates ({involved:,} accounts, "
            f"{percent(share)}).",
            pairs.height,
            total=context.data.accounts.height,
            share=share,
            examples=examples,
            suggestion="Review the pairs and merge them in the CRM; nextmove never merges.",
        )
    ]
