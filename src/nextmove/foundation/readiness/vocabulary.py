"""Vocabulary: values outside the known lists, each with the closest known value."""

from __future__ import annotations

import re

import polars as pl
from rapidfuzz import fuzz, process

from nextmove.foundation.readiness.context import Context
from nextmove.foundation.readiness.expressions import is_recognised
from nextmove.foundation.readiness.model import (
    Finding,
    Section,
    Thresholds,
    Vocabulary,
    VocabularyCheck,
    VocabularyConflict,
)
from nextmove.foundation.readiness.wording import (
    article,
    field_words,
    make_finding,
    plural,
    plural_records,
    share_of,
    share_severity,
)

__all__ = ["assess_vocabulary", "compact_key"]


def assess_vocabulary(context: Context) -> tuple[tuple[VocabularyConflict, ...], list[Finding]]:
    """Values outside the known lists, with the closest known value."""
    conflicts: list[VocabularyConflict] = []
    findings: list[Finding] = []
    for check in context.rules.vocabulary_checks:
        frame = getattr(context.data, check.kind)
        vocabulary = context.rules.vocabularies[check.vocabulary]
        values = frame.select(pl.col(check.field).str.strip_chars().alias("value")).filter(
            pl.col("value").str.len_chars() > 0
        )
        off = values.filter(~is_recognised(pl.col("value"), vocabulary))
        if off.height == 0:
            continue
        counted = off.group_by("value").len().sort(["len", "value"], descending=[True, False])
        found = [
            VocabularyConflict(
                kind=check.kind,
                field=check.field,
                value=value,
                rows=rows,
                suggestion=suggestion,
                score=score,
            )
            for value, rows in counted.head(context.limits.top).iter_rows()
            for suggestion, score in [_suggest(value, vocabulary, context.limits.suggestion_score)]
        ]
        conflicts += found
        findings.append(
            _vocabulary_finding(
                check, found, off.height, counted.height, frame.height, context.limits
            )
        )
    return tuple(conflicts), findings


def _vocabulary_finding(
    check: VocabularyCheck,
    found: list[VocabularyConflict],
    rows: int,
    distinct: int,
    total: int,
    limits: Thresholds,
) -> Finding:
    share = share_of(rows, total)
    examples = [
        f"{c.value} ({c.rows:,})" + (f" → {c.suggestion}" if c.suggestion else "") for c in found
    ]
    mapped = {c.value: c.suggestion for c in found if c.suggestion}
    sample = ", ".join(f"{k}: {v}" for k, v in list(mapped.items())[:3])
    fix = (
        f"Correct them at the source or translate them in the {check.kind} mapping "
        f"(values: {check.field}: {{{sample}}})"
        if mapped
        else f"Correct them at the source or add them to the {check.vocabulary} vocabulary"
    )
    return make_finding(
        Section.VOCABULARY,
        f"vocabulary.{check.kind}.{check.field}",
        share_severity(share, limits),
        f"{plural_records(rows, check.kind)} {'has' if rows == 1 else 'have'} "
        f"{article(check.field)} {field_words(check.field)} outside the known list "
        f"({plural(distinct, 'value')}): " + "; ".join(examples[:3]) + ".",
        rows,
        total=total,
        share=share,
        examples=examples[: limits.examples],
        suggestion=fix + " and re-import.",
    )


def compact_key(text: str) -> str:
    """Lower-case letters and digits only: ``Data Guard`` and ``DataGuard`` compare equal."""
    return re.sub(r"[\W_]+", "", text.casefold())


def _suggest(value: str, vocabulary: Vocabulary, cutoff: float) -> tuple[str | None, float | None]:
    """The closest accepted spelling of ``value`` and its score (an alias's target: 100)."""
    key = compact_key(value)
    for alias, target in vocabulary.aliases.items():
        if compact_key(alias) == key:
            return target, 100.0
    choices = [*vocabulary.values, *vocabulary.synonyms]
    best = process.extractOne(
        key, [compact_key(c) for c in choices], scorer=fuzz.ratio, score_cutoff=cutoff
    )
    if best is None:
        return None, None
    return choices[best[2]], round(float(best[1]), 1)
