"""Rendering the readiness report: Markdown, JSON, self-contained HTML and Rich."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import polars as pl
import pytest
from rich.console import Console

from nextmove.foundation.readiness import ReadinessInputs, ReadinessReport, assess_readiness
from nextmove.foundation.report import (
    percent,
    render_html,
    render_json,
    render_markdown,
    render_rich,
)


@pytest.fixture(scope="module")
def report() -> ReadinessReport:
    """Three customers, two of them ready for cross-sell; one name needs escaping."""
    accounts = pl.DataFrame(
        {
            "account_id": ["a1", "a2", "a3"],
            "name": ["Acme", "Bolt", "<script>alert(1)</script> & Co"],
            "segment": ["smb", "mid", None],
            "industry": ["software", "technolgy", None],
            "country": ["US", "DE", "US"],
            "owner_id": ["o1", "o1", None],
        }
    )
    contacts = pl.DataFrame(
        {
            "contact_id": ["c1", "c2"],
            "account_id": ["a1", "a2"],
            "email": ["ann@acme.test", "bo@bolt.test"],
            "email_consent": ["opted_in", "unknown"],
            "phone_consent": ["unknown", "unknown"],
            "do_not_contact": [False, False],
        }
    )
    inputs = ReadinessInputs(
        accounts=accounts,
        contacts=contacts,
        holdings=pl.DataFrame({"account_id": ["a1", "a2", "a3"], "product_id": ["p1"] * 3}),
        products=pl.DataFrame({"product_id": ["p1"], "name": ["Core"], "truth_owner": ["Li"]}),
        owners=pl.DataFrame({"owner_id": ["o1"], "name": ["Olga"], "active": [True]}),
        last_signals=pl.DataFrame(
            {
                "account_id": ["a1", "a2", "a3"],
                "last_signal_at": [datetime(2026, 6, 1, tzinfo=UTC)] * 3,
            }
        ),
        quarantine=pl.DataFrame(
            {
                "run_id": [1],
                "kind": ["opportunities"],
                "file": ["pipeline.csv"],
                "row_number": [4],
                "field": ["product_id"],
                "value": ["GTXPro"],
                "reason": ["unknown product: no product with this id is stored"],
            }
        ),
    )
    return assess_readiness(inputs, as_of=date(2026, 6, 30))


def test_the_example_scores_as_expected(report: ReadinessReport) -> None:
    cross_sell = report.decisions[0]
    assert (cross_sell.label, cross_sell.ready, cross_sell.accounts) == ("Cross-sell", 2, 3)
    assert percent(cross_sell.score) == "67%"


def test_markdown_leads_with_the_scores_then_findings(report: ReadinessReport) -> None:
    text = render_markdown(report)

    assert text.startswith("# Foundation readiness — as of 2026-06-30 00:00 UTC\n")
    assert "| Cross-sell | customer accounts | 2 of 3 | **67%** |" in text
    assert "Cross-sell: 67% of customer accounts (2 of 3) have enough data" in text
    assert text.index("## Readiness by decision type") < text.index("## Findings")
    assert text.index("### Critical") < text.index("### Warnings")
    assert "technolgy (1) → technology" in text


def test_markdown_tables_escape_pipes() -> None:
    accounts = pl.DataFrame({"account_id": ["a1"], "name": ["Acme"], "industry": ["IT|Media"]})
    report = assess_readiness(ReadinessInputs(accounts=accounts), as_of=date(2026, 1, 1))

    assert "| accounts | industry | IT\\|Media | 1 |" in render_markdown(report)


def test_json_round_trips_to_the_model(report: ReadinessReport) -> None:
    text = render_json(report)

    assert json.loads(text)["decisions"][0]["ready"] == 2
    assert ReadinessReport.model_validate_json(text) == report


def test_html_is_self_contained_and_escaped(report: ReadinessReport) -> None:
    page = render_html(report)

    assert page.lstrip().startswith("<!doctype html>")
    assert "67%" in page and "2 of 3" in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<link" not in page
    assert page.index("Readiness by decision type") < page.index("Findings")


def test_rich_renderables_print_the_scores(report: ReadinessReport) -> None:
    console = Console(width=140, record=True, color_system=None)
    for renderable in render_rich(report):
        console.print(renderable)
    text = console.export_text()

    assert "Readiness by decision type" in text
    assert "Cross-sell" in text and "67%" in text
    assert text.index("Cross-sell") < text.index("Critical")


def test_an_empty_report_renders_everywhere() -> None:
    empty = assess_readiness(ReadinessInputs(), as_of=date(2026, 1, 1))

    assert "n/a" in render_markdown(empty)
    assert "n/a" in render_html(empty)
    assert ReadinessReport.model_validate_json(render_json(empty)) == empty
    assert render_rich(empty)


@pytest.mark.parametrize(
    ("share", "expected"),
    [(0.0, "0%"), (0.004, "0.4%"), (0.5, "50%"), (0.996, "99.6%"), (1.0, "100%")],
)
def test_percent_never_claims_all_or_nothing_falsely(share: float, expected: str) -> None:
    assert percent(share) == expected
