"""The foundation readiness report, on small hand-made companies."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from nextmove.errors import ConfigurationError, NotFound
from nextmove.foundation.readiness import (
    Check,
    Population,
    ReadinessInputs,
    ReadinessReport,
    ReadinessRules,
    Section,
    Severity,
    assess_readiness,
    default_rules,
    load_rules,
)

AS_OF = date(2026, 6, 30)
UNKNOWN_PRODUCT = "unknown product: no product with this id is stored or in this file"


def frame(*rows: dict[str, Any]) -> pl.DataFrame:
    """A frame of ``rows``; keys missing from a row are null (types left to the report)."""
    return pl.DataFrame(list(rows), infer_schema_length=None)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def company() -> ReadinessInputs:
    """Four customers (a1–a4) and two prospects (a5, a6), each ready or not for a reason.

    a1 ready; a2 ready (reachable by phone only, industry misspelt); a3 no industry,
    inactive owner, stale signal, do-not-contact; a4 unknown owner, no signal, no contact;
    a5 a ready prospect; a6 an empty prospect.
    """
    return ReadinessInputs(
        accounts=frame(
            {"account_id": "a1", "name": "Acme", "segment": "smb", "industry": "software",
             "country": "US", "owner_id": "o1"},
            {"account_id": "a2", "name": "Bolt", "employees": 50, "industry": "technolgy",
             "country": "DE", "owner_id": "o1"},
            {"account_id": "a3", "name": "Crux", "segment": "mid", "country": "GB",
             "owner_id": "o2"},
            {"account_id": "a4", "name": "Dyno", "segment": "ent", "industry": "finance",
             "country": "Germany", "owner_id": "ghost"},
            {"account_id": "a5", "name": "Echo", "segment": "smb", "industry": "retail",
             "country": "US", "owner_id": "o1"},
            {"account_id": "a6", "name": "Fjord"},
        ),
        contacts=frame(
            {"contact_id": "c1", "account_id": "a1", "email": "ann@acme.test",
             "email_consent": "opted_in", "phone_consent": "unknown", "do_not_contact": False},
            {"contact_id": "c2", "account_id": "a2", "email": "bo@bolt.test",
             "email_consent": "opted_out", "phone_consent": "unknown", "do_not_contact": False},
            {"contact_id": "c3", "account_id": "a3", "email": "cy@crux.test",
             "email_consent": "opted_in", "phone_consent": "opted_in", "do_not_contact": True},
            {"contact_id": "c5", "account_id": "a5", "email": "ed@echo.test",
             "email_consent": "unknown", "phone_consent": "opted_out", "do_not_contact": False},
        ),
        holdings=frame(*({"account_id": a, "product_id": "p1"} for a in ("a1", "a2", "a3", "a4"))),
        products=frame(
            {"product_id": "p1", "name": "DataGuard", "truth_owner": "Maya",
             "last_reviewed": date(2026, 1, 1), "active": True},
            {"product_id": "p2", "name": "Data Guard", "truth_owner": "Security team",
             "last_reviewed": date(2025, 1, 1), "active": True},
            {"product_id": "GTX Pro", "name": "GTX Pro", "last_reviewed": None, "active": True},
            {"product_id": "p4", "name": "Legacy Suite", "truth_owner": "Li",
             "last_reviewed": date(2020, 1, 1), "active": False},
        ),
        owners=frame(
            {"owner_id": "o1", "name": "Olga", "team_id": "t1", "active": True},
            {"owner_id": "o2", "name": "Omar", "team_id": "t1", "active": False},
            {"owner_id": "o3", "name": "Oren", "team_id": None, "active": True},
        ),
        teams=frame(
            {"team_id": "t1", "name": "Sales", "function": "sales", "capacity_per_day": 5},
            {"team_id": "t2", "name": "Success", "function": "customer_success"},
        ),
        last_signals=frame(
            {"account_id": "a1", "last_signal_at": at("2026-06-20T10:00:00")},
            {"account_id": "a2", "last_signal_at": at("2026-06-01T09:00:00")},
            {"account_id": "a3", "last_signal_at": at("2026-01-01T00:00:00")},
        ),
    )  # fmt: skip


def rules() -> ReadinessRules:
    """Cross-sell as the brief defines it, plus new logo and an e-mail programme."""
    reachable = {"check": "reachable_contact"}
    return ReadinessRules.model_validate(
        {
            "decision_types": {
                "cross_sell": {
                    "label": "Cross-sell",
                    "population": "customers",
                    "conditions": [
                        {"check": "filled", "fields": ["segment", "employees"]},
                        {"check": "filled", "fields": ["industry"]},
                        {"check": "owner"},
                        {"check": "recent_signal"},
                        reachable,
                    ],
                },
                "new_logo": {
                    "label": "New logo",
                    "population": "prospects",
                    "conditions": [
                        {"check": "filled", "fields": ["segment", "employees"]},
                        {"check": "filled", "fields": ["industry"]},
                        {"check": "filled", "fields": ["country"]},
                        {"check": "owner"},
                        reachable,
                    ],
                },
                "digital_program": {
                    "label": "Digital programme",
                    "population": "all",
                    "conditions": [
                        {"check": "filled", "fields": ["industry"]},
                        {"check": "known_value", "fields": ["country"]},
                        {"check": "reachable_contact", "channels": ["email"]},
                    ],
                },
            },
            "vocabularies": default_rules().model_dump()["vocabularies"],
            "vocabulary_checks": default_rules().model_dump()["vocabulary_checks"],
        }
    )


def assess(inputs: ReadinessInputs | None = None, **options: Any) -> ReadinessReport:
    options.setdefault("rules", rules())
    return assess_readiness(inputs or company(), as_of=options.pop("as_of", AS_OF), **options)


def finding(report: ReadinessReport, code: str) -> Any:
    found = [f for f in report.findings if f.code == code]
    assert found, f"no finding {code}; have {[f.code for f in report.findings]}"
    return found[0]


# --------------------------------------------------------------------------- decisions


def test_cross_sell_score_and_blockers_are_exact() -> None:
    report = assess()

    cross_sell = next(d for d in report.decisions if d.decision_type == "cross_sell")
    assert (cross_sell.population, cross_sell.accounts, cross_sell.ready) == (
        Population.CUSTOMERS,
        4,
        2,
    )
    assert cross_sell.score == 0.5
    assert cross_sell.severity is Severity.WARNING
    assert cross_sell.headline == (
        "Cross-sell: 50% of customer accounts (2 of 4) have enough data; most often missing: "
        "a known, active owner (2 accounts)."
    )
    failing = {b.check: b.failing for b in cross_sell.blockers if b.check is not Check.FILLED}
    assert failing == {Check.OWNER: 2, Check.RECENT_SIGNAL: 2, Check.REACHABLE_CONTACT: 2}
    assert [(b.condition, b.failing) for b in cross_sell.blockers if b.check is Check.FILLED] == [
        ("industry", 1),
        ("segment or employees", 0),
    ]


def test_prospects_and_all_accounts_populations() -> None:
    report = assess()

    scores = {d.decision_type: (d.ready, d.accounts) for d in report.decisions}
    assert scores == {"cross_sell": (2, 4), "new_logo": (1, 2), "digital_program": (2, 6)}
    digital = next(d for d in report.decisions if d.decision_type == "digital_program")
    assert digital.severity is Severity.CRITICAL
    assert {b.condition: b.failing for b in digital.blockers} == {
        "a contact reachable by email": 4,
        "industry": 2,
        "a known country": 1,
    }


def test_a_signal_window_of_its_own_and_the_days_in_the_label() -> None:
    custom = rules().model_dump()
    cross_sell = custom["decision_types"]["cross_sell"]
    cross_sell["conditions"] = [
        *cross_sell["conditions"][:3],
        {"check": "recent_signal", "within_days": 10, "label": "a signal in the last {days} days"},
        *cross_sell["conditions"][4:],
    ]
    report = assess(rules=ReadinessRules.model_validate(custom))

    scored = report.decisions[0]
    assert scored.ready == 1
    assert ("a signal in the last 10 days", 3) in [
        (b.condition, b.failing) for b in scored.blockers
    ]


# --------------------------------------------------------------------------- sections


def test_freshness_is_counted_against_as_of() -> None:
    report = assess()
    assert (report.freshness.stale_accounts, report.freshness.never_signalled) == (1, 3)
    assert (report.freshness.active_products, report.freshness.past_review) == (3, 1)
    assert report.freshness.never_reviewed == 1
    stale = finding(report, "freshness.stale_accounts")
    assert stale.count == 4
    assert stale.headline.startswith("4 of 6 accounts (67%) have had no signal in the last 60")

    later = assess(as_of=date(2026, 8, 15))
    assert later.freshness.stale_accounts == 2

    shorter = assess(stale_after_days=20, review_after_days=90)
    assert shorter.freshness.stale_accounts == 2
    assert shorter.freshness.past_review == 2


def test_ownership_gaps() -> None:
    ownership = assess().ownership

    assert ownership.model_dump() == {
        "accounts": 6,
        "without_owner": 1,
        "unknown_owner": 1,
        "inactive_owner": 1,
        "active_products": 3,
        "products_without_truth_owner": 1,
        "active_owners": 2,
        "owners_without_team": 1,
        "teams": 2,
        "teams_without_capacity": 1,
    }


def test_misspelt_industry_is_flagged_with_the_closest_known_value() -> None:
    report = assess()

    [industry] = [c for c in report.vocabulary if c.field == "industry"]
    assert (industry.value, industry.rows, industry.suggestion) == ("technolgy", 1, "technology")
    assert "technolgy (1) → technology" in finding(report, "vocabulary.accounts.industry").headline
    assert not [c for c in report.vocabulary if c.field == "country"]  # "Germany" is known


def test_catalog_entries_with_near_identical_names_are_one_product() -> None:
    report = assess()

    [twins] = [c for c in report.product_names if c.source == "catalog"]
    assert {twins.product_id, twins.value_product_id} == {"p1", "p2"}
    assert finding(report, "vocabulary.product_names.catalog").severity is Severity.WARNING


def test_quarantined_gtxpro_points_at_the_catalog_product_gtx_pro() -> None:
    def entry(run_id: int, row: int) -> dict[str, Any]:
        return {"run_id": run_id, "kind": "opportunities", "file": "pipeline.csv",
                "row_number": row, "field": "product_id", "value": "GTXPro",
                "reason": UNKNOWN_PRODUCT}  # fmt: skip

    quarantine = frame(
        *(entry(1, row) for row in range(2, 7)),  # an earlier import of the same file
        *(entry(2, row) for row in (2, 5, 9)),
        {"run_id": 3, "kind": "accounts", "file": "accounts.csv", "row_number": 7,
         "field": "employees", "value": "many", "reason": "expected a whole number"},
        {"run_id": 3, "kind": "accounts", "file": "accounts.csv", "row_number": 7,
         "field": "segment", "value": "huge", "reason": "expected one of smb, mid, ent"},
    )  # fmt: skip
    inputs = company()
    report = assess(ReadinessInputs(**{**vars_of(inputs), "quarantine": quarantine}))

    [gtx] = [c for c in report.product_names if c.source == "quarantine"]
    assert (gtx.value, gtx.product_id, gtx.rows, gtx.kind) == (
        "GTXPro",
        "GTX Pro",
        3,
        "opportunities",
    )
    assert "values:" in gtx.fix and "GTXPro: GTX Pro" in gtx.fix
    headline = finding(report, "vocabulary.product_names.quarantine").headline
    assert headline == (
        "3 opportunities rows were quarantined for product 'GTXPro', which looks like catalog "
        "product 'GTX Pro'."
    )
    assert report.quarantine.by_kind == {"accounts": 1, "opportunities": 3}
    assert (report.quarantine.entries, report.quarantine.rows) == (5, 4)
    assert report.quarantine.top[0].reason.startswith("unknown product")
    assert finding(report, "quarantine.rows").severity is Severity.WARNING


def test_duplicates_are_counted_from_identity() -> None:
    inputs = company()
    accounts = pl.concat(
        [
            inputs.accounts,
            frame({"account_id": "a7", "name": "ACME Inc.", "country": "US"}),
        ],
        how="diagonal_relaxed",
    )
    report = assess(ReadinessInputs(**{**vars_of(inputs), "accounts": accounts}))

    assert (report.duplicates.pairs, report.duplicates.accounts) == (1, 2)
    assert report.duplicates.top[0].account_id_b == "a7"
    assert finding(report, "duplicates.accounts").section is Section.DUPLICATES


def test_completeness_highlights_what_decisions_need() -> None:
    report = assess()

    accounts = next(k for k in report.completeness if k.kind == "accounts")
    industry = next(f for f in accounts.fields if f.field == "industry")
    assert (industry.filled, industry.needed_by) == (
        4,
        ("Cross-sell", "New logo", "Digital programme"),
    )
    segment = next(f for f in accounts.fields if f.field == "segment")
    assert segment.filled == 4
    gap = finding(report, "completeness.accounts.industry")
    assert gap.count == 2 and gap.severity is Severity.WARNING
    # segment or employees: 5 of 6 filled, under the 90% bar
    assert finding(report, "completeness.accounts.segment_or_employees").count == 1


def test_findings_are_ordered_most_severe_first() -> None:
    ranks = [f.severity.rank for f in assess().findings]
    assert ranks == sorted(ranks)


# --------------------------------------------------------------------------- edges


def test_empty_inputs_give_a_report_without_crashing() -> None:
    report = assess_readiness(ReadinessInputs(), as_of=AS_OF)

    assert [d.accounts for d in report.decisions] == [0] * len(report.decisions)
    assert finding(report, "completeness.no_accounts").severity is Severity.CRITICAL
    assert report.duplicates.pairs == 0 and report.quarantine.rows == 0
    assert report.as_of == datetime(2026, 6, 30, tzinfo=UTC)


def test_all_null_and_missing_columns_are_tolerated() -> None:
    inputs = ReadinessInputs(
        accounts=pl.DataFrame({"account_id": ["a1", "a2"], "industry": [None, None]}),
        contacts=pl.DataFrame({"contact_id": ["c1"], "account_id": ["a1"], "email": [None]}),
        products=pl.DataFrame({"product_id": [None]}, schema={"product_id": pl.String}),
        last_signals=pl.DataFrame(
            {"account_id": ["a1"], "last_signal_at": [datetime(2026, 6, 29, 12)]}
        ),
    )

    report = assess_readiness(inputs, as_of=datetime(2026, 6, 30, 8, 0))

    assert report.freshness.stale_accounts == 0 and report.freshness.never_signalled == 1
    assert report.record_counts["accounts"] == 2
    assert all(d.ready == 0 for d in report.decisions)


def test_default_rules_hold_the_known_lists_and_five_decision_types() -> None:
    built_in = default_rules()

    assert set(built_in.decision_types) == {
        "cross_sell",
        "retention",
        "service_conversation",
        "new_logo",
        "digital_program",
    }
    assert "technology" in built_in.vocabularies["industry"].values
    assert built_in.vocabularies["segment"].values == ("smb", "mid", "ent")
    country = built_in.vocabularies["country"]
    assert {"US", "DE", "NO"} <= set(country.values)
    assert country.synonyms["Germany"] == "DE"
    report = assess_readiness(company(), as_of=AS_OF)
    assert [d.decision_type for d in report.decisions][0] == "cross_sell"


def test_a_rules_file_of_ones_own(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "decision_types:\n"
        "  outreach:\n"
        "    label: Outreach\n"
        "    population: all\n"
        "    conditions:\n"
        "      - {check: owner}\n",
        encoding="utf-8",
    )

    report = assess(rules=load_rules(path))

    [outreach] = report.decisions
    assert (outreach.ready, outreach.accounts) == (3, 6)


def test_bad_rules_files_are_explained(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        load_rules(tmp_path / "missing.yaml")
    path = tmp_path / "rules.yaml"
    path.write_text(
        "decision_types:\n  x: {label: X, population: all, conditions: [{check: filled}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match="needs fields"):
        load_rules(path)
    path.write_text("vocabulary_checks: [{kind: accounts, field: industry, vocabulary: nope}]\n")
    with pytest.raises(ConfigurationError, match="no vocabulary named nope"):
        load_rules(path)


def test_report_round_trips_through_json() -> None:
    report = assess()
    assert ReadinessReport.model_validate_json(report.model_dump_json()) == report


def vars_of(inputs: ReadinessInputs) -> dict[str, pl.DataFrame]:
    return {name: getattr(inputs, name) for name in inputs.__dataclass_fields__}
