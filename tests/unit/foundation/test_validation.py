"""The columnar validator: parsing export-style values, defaults, row rules — and agreement
with the pydantic domain models it derives its rules from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nextmove.domain import Holding, Opportunity, Record
from nextmove.domain.vocabulary import OpportunityStage
from nextmove.foundation.model import ColumnMapping
from nextmove.foundation.schema import record_schema
from nextmove.foundation.validation import ROW, ValidatedBatch, validate_batch


def validate(kind: str, columns: dict[str, list[str | None]], **mapping: Any) -> ValidatedBatch:
    """Validate ``columns`` (all text, as a reader yields them) as rows 2, 3, … of a file."""
    height = len(next(iter(columns.values())))
    frame = pl.DataFrame(
        {ROW: list(range(2, height + 2)), **columns},
        schema={ROW: pl.Int64, **{name: pl.String for name in columns}},
    )
    schema = record_schema(kind)
    return validate_batch(
        frame,
        schema.fields,
        ColumnMapping(kind=kind, **mapping),
        row_rules=schema.row_rules,
    )


def errors_of(batch: ValidatedBatch) -> list[tuple[object, ...]]:
    """(row, field, value, reason) of each rejected value."""
    return batch.errors.rows()


# --- numbers -------------------------------------------------------------------------


def test_numbers_are_read_as_exports_write_them() -> None:
    texts = ["$1,200.50", "USD 1,200.00", "€ 5", "1234.5", " 12 ", "1e3", "0"]
    batch = validate(
        "opportunities",
        {
            "opportunity_id": [f"o{i}" for i in range(len(texts))],
            "account_id": ["a1"] * len(texts),
            "stage": ["won"] * len(texts),
            "amount": texts,
        },
    )
    assert batch.errors.height == 0
    assert batch.good["amount"].to_list() == [1200.5, 1200.0, 5.0, 1234.5, 12.0, 1000.0, 0.0]
    assert batch.good.schema["amount"] == pl.Float64


def test_unreadable_negative_and_infinite_numbers_are_rejected_with_reasons() -> None:
    texts = ["1.200,50", "12abc", "1,2", "-5", "-0.01", "inf", "nan", "1e999"]
    batch = validate(
        "opportunities",
        {
            "opportunity_id": [f"o{i}" for i in range(len(texts))],
            "account_id": ["a1"] * len(texts),
            "stage": ["won"] * len(texts),
            "amount": texts,
        },
    )
    assert batch.good.height == 0
    assert batch.rejected_rows == len(texts)
    assert errors_of(batch) == [
        (2, "amount", "1.200,50", "expected a number"),
        (3, "amount", "12abc", "expected a number"),
        (4, "amount", "1,2", "expected a number"),
        (5, "amount", "-5", "must be at least 0"),
        (6, "amount", "-0.01", "must be at least 0"),
        (7, "amount", "inf", "must be a finite number"),
        (8, "amount", "nan", "must be a finite number"),
        (9, "amount", "1e999", "must be a finite number"),
    ]


def test_whole_numbers_accept_integral_values_and_reject_fractions() -> None:
    texts = ["3", "3.0", "1,000", " 7 ", "1.5", "-1", "two"]
    batch = validate(
        "holdings",
        {
            "account_id": ["a1"] * len(texts),
            "product_id": [f"p{i}" for i in range(len(texts))],
            "quantity": texts,
        },
    )
    assert batch.good["quantity"].to_list() == [3, 3, 1000, 7]
    assert batch.good.schema["quantity"] == pl.Int64
    assert errors_of(batch) == [
        (6, "quantity", "1.5", "expected a whole number"),
        (7, "quantity", "-1", "must be at least 0"),
        (8, "quantity", "two", "expected a whole number"),
    ]


def test_scale_multiplies_after_reading() -> None:
    batch = validate(
        "accounts",
        {"account_id": ["a1", "a2"], "name": ["A", "B"], "annual_revenue": ["1,100.04", "0.5"]},
        scale={"annual_revenue": 1_000_000},
    )
    assert batch.good["annual_revenue"].to_list() == pytest.approx([1_100_040_000.0, 500_000.0])


# --- booleans, enums, text -----------------------------------------------------------


def test_booleans_accept_yes_no_one_zero_in_any_case() -> None:
    texts = ["yes", "no", "1", "0", "TRUE", "f", "Y", "N", "maybe"]
    batch = validate(
        "contacts",
        {
            "contact_id": [f"c{i}" for i in range(len(texts))],
            "account_id": ["a1"] * len(texts),
            "do_not_contact": texts,
        },
    )
    assert batch.good["do_not_contact"].to_list() == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
        False,
    ]
    assert errors_of(batch) == [(10, "do_not_contact", "maybe", "expected true or false")]


def test_enum_labels_are_translated_by_the_mapping_and_normalised() -> None:
    texts = ["Closed Won", " closed won ", "CLOSED LOST", "Negotiation", " WON ", "Needs Analysis"]
    batch = validate(
        "opportunities",
        {
            "opportunity_id": [f"o{i}" for i in range(len(texts))],
            "account_id": ["a1"] * len(texts),
            "stage": texts,
        },
        values={"stage": {"Closed Won": "won", "Closed Lost": "lost"}},
    )
    assert batch.good["stage"].to_list() == ["won", "won", "lost", "negotiation", "won"]
    assert errors_of(batch) == [
        (
            7,
            "stage",
            "Needs Analysis",
            "expected one of prospecting, qualification, proposal, negotiation, won, lost",
        )
    ]


def test_enum_tokens_join_words_with_underscores() -> None:
    batch = validate(
        "contacts",
        {
            "contact_id": ["c1", "c2", "c3"],
            "account_id": ["a1"] * 3,
            "email_consent": ["Opted In", "opted-out", "OPTED/IN"],
        },
    )
    assert batch.good["email_consent"].to_list() == ["opted_in", "opted_out", "opted_in"]


def test_codes_are_lower_cased_and_must_match_their_pattern() -> None:
    batch = validate(
        "signals",
        {
            "event_id": ["e1", "e2"],
            "account_id": ["a1", "a1"],
            "signal_type": ["Web_Visit", "web visit"],
            "occurred_at": ["2026-03-01", "2026-03-01"],
        },
    )
    assert batch.good["signal_type"].to_list() == ["web_visit"]
    assert errors_of(batch) == [
        (3, "signal_type", "web visit", "must match the pattern ^[a-z0-9_.:-]+$")
    ]


def test_text_is_stripped_blank_is_empty_and_length_is_limited() -> None:
    batch = validate(
        "accounts",
        {
            "account_id": [" a1 ", "a2", "   ", "a4"],
            "name": ["  Acme  ", "x" * 301, "Nameless", "B"],
            "domain": ["  ", None, None, "b.com"],
        },
    )
    assert batch.good.select("account_id", "name", "domain").rows() == [
        ("a1", "Acme", None),
        ("a4", "B", "b.com"),
    ]
    assert errors_of(batch) == [
        (3, "name", "x" * 301, "is 301 characters long; at most 300 allowed"),
        (4, "account_id", "   ", "required field account_id is empty"),
    ]


# --- lists, defaults, dates, row rules -----------------------------------------------


def test_lists_are_split_on_the_separator_and_blank_items_dropped() -> None:
    batch = validate(
        "products",
        {
            "product_id": ["p1", "p2", "p3"],
            "name": ["A", "B", "C"],
            "prerequisites": ["a| b ||c", None, "x"],
        },
    )
    assert batch.good["prerequisites"].to_list() == [["a", "b", "c"], [], ["x"]]
    custom = validate(
        "products",
        {"product_id": ["p1"], "name": ["A"], "prerequisites": ["a; b"]},
        list_separator=";",
    )
    assert custom.good["prerequisites"].to_list() == [["a", "b"]]


def test_model_defaults_fill_blank_cells_and_absent_columns() -> None:
    with_column = validate(
        "holdings",
        {"account_id": ["a1", "a1"], "product_id": ["p1", "p2"], "quantity": ["", "4"]},
    )
    assert with_column.good["quantity"].to_list() == [1, 4]
    without_column = validate("contacts", {"contact_id": ["c1"], "account_id": ["a1"]})
    assert without_column.good.select(
        "email_consent", "phone_consent", "do_not_contact"
    ).rows() == [("unknown", "unknown", False)]


def test_mapping_defaults_fill_blank_cells_and_absent_columns_but_not_given_values() -> None:
    given_column = validate(
        "owners",
        {"owner_id": ["o1", "o2"], "name": ["Ann", "Bob"], "role": ["", "csm"]},
        defaults={"role": "rep"},
    )
    assert given_column.good["role"].to_list() == ["rep", "csm"]
    absent_column = validate(
        "teams", {"team_id": ["t1"], "name": ["Central"]}, defaults={"function": "sales"}
    )
    assert absent_column.good["function"].to_list() == ["sales"]


def test_required_field_without_column_or_default_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="required field name has no column"):
        validate("accounts", {"account_id": ["a1"]})


def test_dates_follow_the_mapping_formats_then_iso() -> None:
    texts = ["03/31/2026", "2026-03-31", "2026-03-31T23:59:00Z", "31/03/2026", "2026-02-30"]
    batch = validate(
        "holdings",
        {
            "account_id": ["a1"] * len(texts),
            "product_id": [f"p{i}" for i in range(len(texts))],
            "since": texts,
        },
        date_formats=("%m/%d/%Y",),
    )
    assert batch.good["since"].to_list() == [date(2026, 3, 31)] * 3
    assert errors_of(batch) == [
        (5, "since", "31/03/2026", "expected a date like 2026-03-31"),
        (6, "since", "2026-02-30", "expected a date like 2026-03-31"),
    ]


def test_date_times_become_utc() -> None:
    texts = [
        "2026-03-01T10:00:00Z",
        "2026-03-01T12:00:00+02:00",
        "2026-03-01 10:00:00",
        "2026-03-01T10:00",
        "2026-03-01",
        "yesterday",
    ]
    batch = validate(
        "signals",
        {
            "event_id": [f"e{i}" for i in range(len(texts))],
            "account_id": ["a1"] * len(texts),
            "signal_type": ["visit"] * len(texts),
            "occurred_at": texts,
        },
    )
    assert batch.good.schema["occurred_at"] == pl.Datetime("us", "UTC")
    assert batch.good["occurred_at"].to_list() == [
        datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 0, 0, tzinfo=UTC),
    ]
    assert errors_of(batch) == [
        (7, "occurred_at", "yesterday", "expected a date-time like 2026-03-31T14:05:00Z")
    ]


def test_row_rules_reject_across_fields() -> None:
    opportunities = validate(
        "opportunities",
        {
            "opportunity_id": ["o1", "o2", "o3"],
            "account_id": ["a1"] * 3,
            "stage": ["won"] * 3,
            "created_on": ["2026-03-01", "2026-03-01", None],
            "close_date": ["2026-02-28", "2026-03-01", "2026-01-01"],
        },
    )
    assert opportunities.good["opportunity_id"].to_list() == ["o2", "o3"]
    assert errors_of(opportunities) == [
        (2, "close_date", "2026-02-28", "close_date is before created_on")
    ]
    products = validate(
        "products",
        {"product_id": ["p1", "p2"], "name": ["A", "B"], "prerequisites": ["p0|p1", "p1"]},
    )
    assert products.good["product_id"].to_list() == ["p2"]
    assert errors_of(products) == [
        (2, "prerequisites", "p0|p1", "a product cannot be its own prerequisite")
    ]


def test_every_bad_field_of_a_row_is_reported_once() -> None:
    batch = validate(
        "opportunities",
        {
            "opportunity_id": ["o1"],
            "account_id": [""],
            "stage": ["pending"],
            "amount": ["-1"],
        },
    )
    assert batch.rejected_rows == 1
    assert [(row, field) for row, field, _, _ in errors_of(batch)] == [
        (2, "account_id"),
        (2, "amount"),
        (2, "stage"),
    ]


def test_large_whole_numbers_keep_every_digit() -> None:
    batch = validate(
        "holdings",
        {"account_id": ["a1"], "product_id": ["p1"], "quantity": ["9007199254740993"]},
    )
    assert batch.good["quantity"].to_list() == [9_007_199_254_740_993]


# --- property: the columnar validator agrees with the pydantic models ----------------

MISSING: Any = object()
"""A blank cell of a field with a default: the model is given no value for it."""

STAGE_LABELS = {"Closed Won": "won", "Closed Lost": "lost"}
DATE_FORMATS = ("%m/%d/%Y",)


@dataclass(frozen=True)
class Cell:
    """One cell: the text a file holds, and the value a person means by it."""

    text: str | None
    meaning: Any


def _blank(meaning: Any) -> st.SearchStrategy[Cell]:
    return st.sampled_from(["", "  ", None]).map(lambda text: Cell(text, meaning))


def _mostly(
    valid: st.SearchStrategy[Cell], *invalid: st.SearchStrategy[Cell]
) -> st.SearchStrategy[Cell]:
    """Valid cells nine times in ten, so that whole rows are often valid too."""
    rare = st.one_of(*invalid)
    return st.integers(0, 9).flatmap(lambda roll: rare if roll == 0 else valid)


def ids(*, required: bool) -> st.SearchStrategy[Cell]:
    plain = st.text("abcXYZ019-_. ", min_size=1, max_size=12).filter(str.strip)
    valid = st.one_of(
        plain.map(lambda text: Cell(text, text)),
        st.sampled_from([" a1 ", "x" * 128, " " + "y" * 128 + " "]).map(lambda t: Cell(t, t)),
    )
    too_long = st.sampled_from(["x" * 129, "z" * 300]).map(lambda text: Cell(text, text))
    if required:
        return _mostly(valid, too_long, _blank(None))
    return _mostly(st.one_of(valid, _blank(None)), too_long)


def money() -> st.SearchStrategy[Cell]:
    amounts = st.floats(min_value=0, max_value=1e9, allow_nan=False)
    cents = amounts.map(lambda x: round(x, 2))
    valid = st.one_of(
        amounts.map(lambda x: Cell(repr(x), x)),
        cents.map(lambda x: Cell(f"${x:,.2f}", x)),
        cents.map(lambda x: Cell(f"USD {x:,.2f}", x)),
        st.integers(0, 10**6).map(lambda n: Cell(f"{n}e2", float(n) * 100)),
    )
    negative = st.floats(min_value=1e-3, max_value=1e9).map(lambda x: Cell(repr(-x), -x))
    not_finite = st.sampled_from(["nan", "inf", "-inf", "1e999"]).map(
        lambda text: Cell(text, float(text))
    )
    garbage = st.sampled_from(["abc", "1.200,50", "12abc", "1,2,3", "--5"]).map(
        lambda text: Cell(text, text)
    )
    return _mostly(st.one_of(valid, _blank(None)), negative, not_finite, garbage)


def counts() -> st.SearchStrategy[Cell]:
    whole = st.integers(0, 10**9)
    valid = st.one_of(
        whole.map(lambda n: Cell(str(n), n)),
        whole.map(lambda n: Cell(f"{n}.0", n)),
        whole.map(lambda n: Cell(f"{n:,}", n)),
        whole.map(lambda n: Cell(f" {n} ", n)),
    )
    fraction = st.integers(0, 10**6).map(lambda n: Cell(f"{n}.5", n + 0.5))
    negative = st.integers(1, 10**6).map(lambda n: Cell(f"-{n}", -n))
    garbage = st.sampled_from(["two", "1/2", "0x10"]).map(lambda text: Cell(text, text))
    return _mostly(st.one_of(valid, _blank(MISSING)), fraction, negative, garbage)


def dates() -> st.SearchStrategy[Cell]:
    days = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))
    valid = st.one_of(
        days.map(lambda d: Cell(d.isoformat(), d)),
        days.map(lambda d: Cell(d.strftime("%m/%d/%Y"), d)),
    )
    impossible = st.sampled_from(
        ["2026-02-30", "2026-13-01", "31/02/2026", "13/01/2026", "2026/03/01", "tomorrow"]
    ).map(lambda text: Cell(text, text))
    return _mostly(st.one_of(valid, _blank(None)), impossible)


def stages() -> st.SearchStrategy[Cell]:
    canonical = st.sampled_from([stage.value for stage in OpportunityStage])
    valid = st.one_of(
        canonical.map(lambda s: Cell(s, s)),
        canonical.map(lambda s: Cell(f" {s.upper()} ", s)),
        canonical.map(lambda s: Cell(s.title(), s)),
        st.sampled_from(sorted(STAGE_LABELS)).map(lambda label: Cell(label, STAGE_LABELS[label])),
    )
    invalid = st.sampled_from(["closed", "pending", "won!", "Needs Analysis"]).map(
        lambda text: Cell(text, text)
    )
    return _mostly(valid, invalid, _blank(None))


OPPORTUNITY_CELLS = {
    "opportunity_id": ids(required=True),
    "account_id": ids(required=True),
    "product_id": ids(required=False),
    "stage": stages(),
    "amount": money(),
    "created_on": dates(),
    "close_date": dates(),
    "owner_id": ids(required=False),
}
HOLDING_CELLS = {
    "account_id": ids(required=True),
    "product_id": ids(required=True),
    "since": dates(),
    "quantity": counts(),
    "annual_value": money(),
}


def _rows(cells: dict[str, st.SearchStrategy[Cell]]) -> st.SearchStrategy[list[dict[str, Cell]]]:
    return st.lists(st.fixed_dictionaries(cells), min_size=1, max_size=25)


def _model_verdict(record_type: type[Record], row: dict[str, Cell]) -> Record | None:
    values = {name: cell.meaning for name, cell in row.items() if cell.meaning is not MISSING}
    try:
        return record_type.model_validate(values)
    except ValidationError:
        return None


def _check_agreement(kind: str, rows: list[dict[str, Cell]]) -> None:
    record_type = record_schema(kind).record_type
    columns = {name: [row[name].text for row in rows] for name in rows[0]}
    batch = validate(kind, columns, values={"stage": STAGE_LABELS}, date_formats=DATE_FORMATS)
    good = {row.pop(ROW): row for row in batch.good.iter_rows(named=True)}
    for number, row in enumerate(rows, start=2):
        model = _model_verdict(record_type, row)
        texts = {name: cell.text for name, cell in row.items()}
        assert (number in good) == (model is not None), (
            f"validator {'accepted' if number in good else 'rejected'} {texts} "
            f"but the model {'accepts' if model is not None else 'rejects'} it; "
            f"errors: {batch.errors.filter(pl.col(ROW) == number).rows()}"
        )
        if model is not None:
            expected = model.model_dump()
            assert good[number] == pytest.approx(expected), texts


@settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(rows=_rows(OPPORTUNITY_CELLS))
def test_validator_accepts_an_opportunity_iff_the_model_does(
    rows: list[dict[str, Cell]],
) -> None:
    assert Opportunity.kind == "opportunities"
    _check_agreement("opportunities", rows)


@settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(rows=_rows(HOLDING_CELLS))
def test_validator_accepts_a_holding_iff_the_model_does(rows: list[dict[str, Cell]]) -> None:
    assert Holding.kind == "holdings"
    _check_agreement("holdings", rows)
