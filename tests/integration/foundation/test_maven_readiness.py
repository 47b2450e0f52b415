"""The readiness report on a real CRM export (Maven Analytics' CRM + Sales + Opportunities)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from nextmove import Engine
from nextmove.foundation.report import render_html, render_json, render_markdown

REPO = Path(__file__).resolve().parents[3]
MAVEN = REPO.parent / "shared" / "data" / "maven-crm"


@pytest.fixture
def maven(engine: Engine) -> Engine:
    if not MAVEN.is_dir():
        pytest.skip(f"{MAVEN} is not beside the checkout")
    engine.import_folder(REPO / "examples" / "mappings" / "maven-crm")
    return engine


def test_report_finds_what_is_wrong_with_the_export(maven: Engine) -> None:
    report = maven.readiness(as_of=date(2017, 12, 31))
    text = render_markdown(report)
    # One product under two names: the pipeline says GTXPro, the catalog GTX Pro.
    assert "GTXPro" in text and "GTX Pro" in text
    # A misspelled sector, and a misspelled country.
    assert "technolgy (12) → technology" in text
    assert "Philipines" in text
    # The accounts file has no owner column: every account lacks one.
    assert "85 of 85 accounts have no owner" in text
    # 1,425 open deals name no account at all.
    assert "required field account_id is empty (1,425 rows)" in text
    new_logo = next(d for d in report.decisions if d.decision_type == "new_logo")
    assert (new_logo.ready, new_logo.accounts) == (0, 85)


def test_report_renders_in_every_format(maven: Engine) -> None:
    report = maven.readiness(as_of=date(2017, 12, 31))
    assert '"as_of"' in render_json(report)
    html = render_html(report)
    assert html.lstrip().startswith("<!DOCTYPE html>") or html.lstrip().startswith(
        "<!doctype html>"
    )
    assert "GTXPro" in html
