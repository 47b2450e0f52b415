"""Quarantine: rows rejected by the latest import of each file, grouped by why."""

from __future__ import annotations

import polars as pl

from nextmove.foundation.readiness.context import Context
from nextmove.foundation.readiness.model import (
    Finding,
    QuarantineGroup,
    QuarantineSummary,
    Section,
    Severity,
)
from nextmove.foundation.readiness.wording import make_finding

__all__ = ["assess_quarantine", "latest_quarantine"]


def latest_quarantine(quarantine: pl.DataFrame) -> pl.DataFrame:
    """Entries of the latest import run of each (kind, file): earlier runs are history."""
    return quarantine.filter(
        pl.col("run_id").fill_null(0) == pl.col("run_id").fill_null(0).max().over("kind", "file")
    )


def _reason_pattern(reason: pl.Expr) -> pl.Expr:
    """Reasons with their row-specific numbers taken out, so that they group."""
    return reason.str.replace(r"first seen at row \d+", "first seen at an earlier row").str.replace(
        r"is \d+ characters long", "is too long"
    )


def assess_quarantine(context: Context) -> tuple[QuarantineSummary, list[Finding]]:
    """Quarantined rows by kind, field and reason: where to look first."""
    latest = latest_quarantine(context.data.quarantine).with_columns(
        _reason_pattern(pl.col("reason").fill_null("no reason given")).alias("reason")
    )
    row = pl.struct("run_id", "file", "row_number").n_unique()
    by_kind = dict(latest.group_by("kind").agg(row.alias("rows")).sort("kind").iter_rows())
    groups = (
        latest.group_by("kind", "field", "reason")
        .agg(row.alias("rows"), pl.col("value").drop_nulls().unique(maintain_order=True).head(3))
        .sort(["rows", "kind", "reason"], descending=[True, False, False])
        .head(context.limits.top)
    )
    summary = QuarantineSummary(
        entries=latest.height,
        rows=sum(by_kind.values()),
        by_kind={str(kind or "unknown"): int(rows) for kind, rows in by_kind.items()},
        top=tuple(
            QuarantineGroup(
                kind=kind or "unknown",
                field=field_name,
                reason=reason,
                rows=rows,
                examples=tuple(values),
            )
            for kind, field_name, reason, rows, values in groups.iter_rows()
        ),
    )
    if summary.rows == 0:
        return summary, []
    top = summary.top[0]
    where = ", ".join(f"{rows:,} {kind}" for kind, rows in summary.by_kind.items())
    return summary, [
        make_finding(
            Section.QUARANTINE,
            "quarantine.rows",
            Severity.WARNING,
            f"{summary.rows:,} rows are in quarantine ({where}); the most common reason: "
            f"{top.kind}.{top.field or '*'} — {top.reason} ({top.rows:,} rows).",
            summary.rows,
            examples=tuple(
                f"{g.kind}.{g.field or '*'}: {g.reason} ({g.rows:,} rows)"
                for g in summary.top[: context.limits.examples]
            ),
            suggestion="See `nextmove quarantine` for the rows and values; fix the file or "
            "the mapping and import it again.",
        )
    ]
