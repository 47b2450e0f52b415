"""A few decisions' reasons are written in Python: word for word what polars writes."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest

from nextmove.decisions import reasons
from nextmove.decisions.reasons import offer_text, offer_words, reasons_column

RUNNERS = [None, "digital_program for prod-b: expected +1100", "sales for the account: expected -3"]
BLOCKED = [None, "[]", '["digital_program: eu_email_needs_opt_in"]']
FLAGS = [True, False]


def _idle_facts(rows: int, seed: int, *, nulls: bool = False) -> pl.DataFrame:
    pick = random.Random(seed)
    flags = [*FLAGS, None] if nulls else FLAGS
    return pl.DataFrame(
        {
            "action": ["no_action"] * rows,
            "product_id": [None] * rows,
            "expected_value": [0.0] * rows,
            "uplift": [0.0] * rows,
            "value": [None] * rows,
            "holdout": [pick.choice(flags) for _ in range(rows)],
            "explored": [pick.choice(flags) for _ in range(rows)],
            "runner_up": [pick.choice(RUNNERS) for _ in range(rows)],
            "had_option": [pick.choice(flags) for _ in range(rows)],
            "blocked": [pick.choice(BLOCKED) for _ in range(rows)],
        },
        schema_overrides={c: pl.String for c in ("product_id", "runner_up", "blocked")}
        | {"value": pl.Float64, "holdout": pl.Boolean, "explored": pl.Boolean}
        | {"had_option": pl.Boolean},
    )


def _in_polars(facts: pl.DataFrame, monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    with monkeypatch.context() as patched:
        patched.setattr(reasons, "_FEW", -1)
        return reasons_column(facts).to_list()


@pytest.mark.parametrize("seed", range(6))
def test_idle_reasons_read_as_polars_writes_them(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts = _idle_facts(60, seed)
    assert reasons._idle_reasons(facts) is not None  # the Python path was taken
    written = reasons_column(facts).to_list()
    assert written == _in_polars(facts, monkeypatch)
    whys = {json.loads(text)["why"] for text in written if text is not None}
    assert len(whys) >= 4  # the sample reaches most openings
    assert None in written  # a null list of blocked moves: null reasons, as in polars


def test_null_flags_and_texts_to_escape_are_left_to_polars(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_nulls = _idle_facts(60, 9, nulls=True)
    assert reasons._idle_reasons(with_nulls) is None
    assert reasons_column(with_nulls).to_list() == _in_polars(with_nulls, monkeypatch)
    quoted = _idle_facts(3, 1).with_columns(
        runner_up=pl.lit('sales for "prod \\ é": expected +1'),
        holdout=False,
        explored=False,
        blocked=pl.lit("[]"),
    )
    assert reasons._idle_reasons(quoted) is None
    assert (
        json.loads(reasons_column(quoted)[0])["runner_up"] == 'sales for "prod \\ é": expected +1'
    )


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
    with pytest.raises(ValueError, match="whole-number"):
        offer_words("sales", "prod-a", amount)
