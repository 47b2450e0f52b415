"""Render a readiness report as Markdown, JSON, self-contained HTML, or Rich renderables.

Every format leads with the readiness score per decision type, then the findings from
most to least severe, then the detail tables (duplicates, vocabulary, product names,
quarantine, completeness).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from nextmove.foundation.readiness import (
    DecisionReadiness,
    Finding,
    ReadinessReport,
    Severity,
    percent,
)

__all__ = [
    "SEVERITY_ORDER",
    "percent",
    "render_html",
    "render_json",
    "render_markdown",
    "render_rich",
]

SEVERITY_ORDER: tuple[Severity, ...] = (Severity.CRITICAL, Severity.WARNING, Severity.INFO)
_TEMPLATES = Path(__file__).with_name("templates")
_STYLES = {Severity.CRITICAL: "bold red", Severity.WARNING: "yellow", Severity.INFO: "green"}
_TITLES = {Severity.CRITICAL: "Critical", Severity.WARNING: "Warnings", Severity.INFO: "Info"}


def _score(decision: DecisionReadiness) -> str:
    """The score as a percentage, or "n/a" when the population is empty."""
    return percent(decision.score) if decision.accounts else "n/a"


def render_json(report: ReadinessReport) -> str:
    """Return the report as indented JSON (``ReadinessReport.model_validate_json`` reads it)."""
    return report.model_dump_json(indent=2)


# --------------------------------------------------------------------------- markdown


def render_markdown(report: ReadinessReport) -> str:
    """Return the report as GitHub-flavoured Markdown."""
    lines = [
        f"# Foundation readiness — as of {report.as_of:%Y-%m-%d %H:%M} UTC",
        "",
        report.headline,
        "",
        "## Readiness by decision type",
        "",
        *_table(
            ["Decision type", "Population", "Ready", "Score", "Most often missing"],
            [_decision_cells(d) for d in report.decisions],
        ),
        *[line for d in report.decisions for line in _decision_markdown(d)],
        "## Findings",
        "",
        *_findings_markdown(report.findings),
        *_details_markdown(report),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _decision_cells(decision: DecisionReadiness) -> list[str]:
    top = next((b for b in decision.blockers if b.failing), None)
    return [
        decision.label,
        decision.population_label,
        f"{decision.ready:,} of {decision.accounts:,}",
        f"**{_score(decision)}**",
        f"{top.condition} ({top.failing:,})" if top else "—",
    ]


def _decision_markdown(decision: DecisionReadiness) -> list[str]:
    lines = [
        f"### {decision.label} — {_score(decision)} ({decision.severity})",
        "",
        decision.headline,
        "",
    ]
    if decision.blockers:
        lines += _table(
            ["Condition", "Accounts failing", "Share"],
            [[b.condition, f"{b.failing:,}", percent(b.share)] for b in decision.blockers],
        )
    return lines


def _findings_markdown(findings: Sequence[Finding]) -> list[str]:
    if not findings:
        return ["No findings: nothing stands in the way.", ""]
    lines: list[str] = []
    for severity in SEVERITY_ORDER:
        chosen = [f for f in findings if f.severity is severity]
        if not chosen:
            continue
        lines += [f"### {_TITLES[severity]} ({len(chosen)})", ""]
        for finding in chosen:
            lines.append(f"- **{_inline(finding.headline)}**")
            lines += [f"  - {_inline(example)}" for example in finding.examples]
            if finding.suggestion:
                lines.append(f"  - *What to do:* {_inline(finding.suggestion)}")
        lines.append("")
    return lines


def _details_markdown(report: ReadinessReport) -> list[str]:
    lines = ["## Details", ""]
    sections = [
        (
            "Probable duplicate accounts",
            ["Account A", "Account B", "Confidence", "Why"],
            [
                [
                    f"{p.name_a} ({p.account_id_a})",
                    f"{p.name_b} ({p.account_id_b})",
                    f"{p.confidence:.2f}",
                    "; ".join(p.reasons),
                ]
                for p in report.duplicates.top
            ],
        ),
        (
            "Values outside the known lists",
            ["Kind", "Field", "Value", "Rows", "Closest known value"],
            [
                [c.kind, c.field, c.value, f"{c.rows:,}", c.suggestion or "—"]
                for c in report.vocabulary
            ],
        ),
        (
            "One product, two names",
            ["Seen as", "Where", "Rows", "Catalog product", "Fix"],
            [
                [c.value, f"{c.kind}.{c.field}", f"{c.rows:,}", c.product_id, c.fix]
                for c in report.product_names
            ],
        ),
        (
            "Quarantine: where to look",
            ["Kind", "Field", "Reason", "Rows", "Examples"],
            [
                [g.kind, g.field or "—", g.reason, f"{g.rows:,}", ", ".join(g.examples)]
                for g in report.quarantine.top
            ],
        ),
    ]
    for title, headers, rows in sections:
        if rows:
            lines += [f"### {title}", "", *_table(headers, rows)]
    lines += ["### Completeness", ""]
    for kind in report.completeness:
        if kind.rows:
            lines += [f"**{kind.kind}** ({kind.rows:,} rows)", ""]
            lines += _table(
                ["Field", "Filled", "Share", "Needed by"],
                [
                    [f.field, f"{f.filled:,}", percent(f.share), ", ".join(f.needed_by) or ""]
                    for f in kind.fields
                ],
            )
    return lines


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(_cell(h) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _cell(text: str) -> str:
    return _inline(text).replace("|", "\\|")


def _inline(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- html


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["percent"] = percent
    environment.filters["number"] = lambda value: f"{value:,}"
    return environment


def render_html(report: ReadinessReport) -> str:
    """Return the report as one self-contained HTML page (inline CSS, no external assets)."""
    template = _environment().get_template("readiness.html.j2")
    groups = [
        (severity, _TITLES[severity], report.findings_of(severity)) for severity in SEVERITY_ORDER
    ]
    return template.render(report=report, groups=[g for g in groups if g[2]])


# --------------------------------------------------------------------------- rich


def render_rich(report: ReadinessReport) -> list[RenderableType]:
    """Return Rich renderables for the terminal: summary, scores, findings, details."""
    renderables: list[RenderableType] = [
        Panel(
            Text(report.headline),
            title=f"Foundation readiness — as of {report.as_of:%Y-%m-%d %H:%M} UTC",
            border_style="cyan",
        ),
        _decisions_table(report.decisions),
    ]
    panels = (_findings_panel(severity, report) for severity in SEVERITY_ORDER)
    renderables += [panel for panel in panels if panel is not None]
    return renderables + _detail_tables(report)


def _decisions_table(decisions: Sequence[DecisionReadiness]) -> Table:
    table = Table(title="Readiness by decision type", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("Decision type")
    table.add_column("Population")
    table.add_column("Ready", justify="right")
    table.add_column("Score", justify="right")
    table.add_column("Most often missing")
    for decision in decisions:
        top = next((b for b in decision.blockers if b.failing), None)
        table.add_row(
            decision.label,
            decision.population_label,
            f"{decision.ready:,} of {decision.accounts:,}",
            Text(_score(decision), style=_STYLES[decision.severity]),
            f"{top.condition} ({top.failing:,})" if top else "—",
        )
    return table


def _findings_panel(severity: Severity, report: ReadinessReport) -> Panel | None:
    findings = report.findings_of(severity)
    if not findings:
        return None
    parts: list[RenderableType] = []
    for finding in findings:
        parts.append(Text("• " + finding.headline, style="bold"))
        parts += [Text(f"    {example}", style="dim") for example in finding.examples]
        if finding.suggestion:
            parts.append(Text(f"    → {finding.suggestion}", style="italic"))
    return Panel(
        Group(*parts),
        title=f"{_TITLES[severity]} ({len(findings)})",
        title_align="left",
        border_style=_STYLES[severity],
    )


def _detail_tables(report: ReadinessReport) -> list[RenderableType]:
    tables: list[RenderableType] = []
    specs: list[tuple[str, tuple[str, ...], list[tuple[str, ...]]]] = [
        (
            "Probable duplicate accounts",
            ("Account A", "Account B", "Confidence", "Why"),
            [
                (
                    f"{p.name_a} ({p.account_id_a})",
                    f"{p.name_b} ({p.account_id_b})",
                    f"{p.confidence:.2f}",
                    "; ".join(p.reasons),
                )
                for p in report.duplicates.top
            ],
        ),
        (
            "Values outside the known lists",
            ("Kind", "Field", "Value", "Rows", "Closest known value"),
            [
                (c.kind, c.field, c.value, f"{c.rows:,}", c.suggestion or "—")
                for c in report.vocabulary
            ],
        ),
        (
            "Quarantine: where to look",
            ("Kind", "Field", "Reason", "Rows"),
            [(g.kind, g.field or "—", g.reason, f"{g.rows:,}") for g in report.quarantine.top],
        ),
    ]
    for title, headers, rows in specs:
        if not rows:
            continue
        table = Table(*headers, title=title, box=box.SIMPLE, title_justify="left")
        for row in rows:
            table.add_row(*row)
        tables.append(table)
    return tables
