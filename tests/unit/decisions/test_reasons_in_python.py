"""A few decisions' reasons are written in Python: word for word what polars writes."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable

import polars as pl
import pytest

from nextmove.decisions import reasons
from nextmove.decisions.reasons import offer_text, offer_words, reasons_column

RUNNERS = [None, "digital_program for prod-b: expected +1100", "sales for the account: expected -3"]
BLOCKED = [None, "[]", '["digital_program: eu_email_needs_opt_in"]']
NUMBERS = [None, 0.0, -0.0, 0.5, 1.5, 2.5, -0.5, -0.4, 0.0004999, 0.00025, 0.00075, 8199.5]
SCHEMA = {
    "action": pl.String,
    "product_id": pl.String,
    "expected_value": pl.Float64,
    "uplift": pl.Float64,
    "value": pl.Float64,
    "holdout": pl.Boolean,
    "explored": pl.Boolean,
    "runner_up": pl.String,
    "had_option": pl.Boolean,
    "blocked": pl.String,
}


def _number(pick: random.Random) -> float | None:
    if pick.random() < 0.4:
        return pick.choice(NUMBERS)
    return pick.choice([pick.gauss(0, 0.05), pick.gauss(0, 5e4), pick.uniform(-1e6, 1e6)])


def _facts(rows: int, seed: int, *, acting: float = 0.0, nulls: bool = False) -> pl.DataFrame:
    pick = random.Random(seed)
    flags = [True, False, None] if nulls else [True, False]
    columns: dict[str, list[object]] = {name: [] for name in SCHEMA}
    for _ in range(rows):
        acts = pick.random() < acting
        columns["action"].append(pick.choice(["sales_outreach", "email"]) if acts else "no_action")
        columns["product_id"].append(pick.choice(["prod-a", None]) if acts else None)
        columns["expected_value"].append(_number(pick) if acts else 0.0)
        columns["uplift"].append(_number(pick) if acts else 0.0)
        columns["value"].append(_number(pick) if acts else None)
        for flag in ("holdout", "explored", "had_option"):
            columns[flag].append(pick.choice(flags))
        columns["runner_up"].append(pick.choice(RUNNERS))
        columns["blocked"].append(pick.choice(BLOCKED))
    return pl.DataFrame(columns, schema=SCHEMA)


def _in_polars(facts: pl.DataFrame, monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    with monkeypatch.context() as patched:
        patched.setattr(reasons, "_FEW", -1)
        return reasons_column(facts).to_list()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("acting", [0.0, 0.5, 1.0])
def test_reasons_read_as_polars_writes_them(
    seed: int, acting: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts = _facts(80, seed, acting=acting)
    assert reasons._few_reasons(facts) is not None  # the Python path was taken
    written = reasons_column(facts).to_list()
    assert written == _in_polars(facts, monkeypatch)
    whys = {json.loads(text)["why"] for text in written if text is not None}
    assert len(whys) >= 4  # the sample reaches most openings, or many amounts
    assert None in written  # a null list of blocked moves: null reasons, as in polars


def test_null_flags_and_texts_to_escape_are_left_to_polars(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_nulls = _facts(60, 9, acting=0.3, nulls=True)
    assert reasons._few_reasons(with_nulls) is None
    assert reasons_column(with_nulls).to_list() == _in_polars(with_nulls, monkeypatch)
    quoted = _facts(3, 1).with_columns(
        runner_up=pl.lit('sales for "prod \\ é": expected +1'),
        holdout=False,
        explored=False,
        blocked=pl.lit("[]"),
    )
    assert reasons._few_reasons(quoted) is None
    assert (
        json.loads(reasons_column(quoted)[0])["runner_up"] == 'sales for "prod \\ é": expected +1'
    )


@pytest.mark.parametrize("column", ["expected_value", "uplift", "value"])
@pytest.mark.parametrize("amount", [math.nan, math.inf, -1e19])
def test_numbers_polars_words_its_own_way_are_left_to_it(
    column: str, amount: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts = _facts(4, 2, acting=1.0).with_columns(pl.lit(amount).alias(column))
    assert reasons._few_reasons(facts) is None
    assert _outcome(lambda: reasons_column(facts).to_list()) == _outcome(
        lambda: _in_polars(facts, monkeypatch)
    )


def _outcome(write: Callable[[], list[str | None]]) -> object:
    """What writing gives: the texts, or the kind of error (polars refuses some)."""
    try:
        return write()
    except pl.exceptions.PolarsError as error:
        return type(error)


def test_offers_are_worded_as_polars_words_them() -> None:
    values = [0.5, 1.5, 2.5, -0.5, -1.5, -0.4, -0.0, 1234.5000001, 8199.5, -283.2, 9e15, 0.0]
    actions = ["sales_outreach"] * len(values) + [None, "email"]
    products = ["prod-a", None] * (len(values) // 2) + ["prod-b", "prod-c"]
    amounts = [*values, 5.0, None]
    frame = pl.DataFrame(
        {"action": actions, "product_id": products, "expected_value": amounts},
        schema={"action": pl.String, "product_id": pl.String, "expected_value": pl.Float64},
    )
    expected = frame.select(
        offer_text(pl.col("action"), pl.col("product_id"), pl.col("expected_value"))
    ).to_series()
    got = [offer_words(*row) for row in frame.iter_rows()]
    assert got == expected.to_list()
    assert got[5] == "sales_outreach for the account: expected +0"  # -0.4 rounds to -0


@pytest.mark.parametrize("amount", [float("nan"), float("inf"), -1e19])
def test_amounts_polars_words_its_own_way_are_refused(amount: float) -> None:
    with pytest.raises(ValueError, match="no whole-number wording"):
        offer_words("sales", "prod-a", amount)
