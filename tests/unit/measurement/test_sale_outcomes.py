"""What counts as a sale is one constant, and every measure and label counts exactly it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from nextmove.decisions.candidates import catalog_of
from nextmove.decisions.training_rows import training_rows
from nextmove.domain import SALE_OUTCOMES, OutcomeType
from nextmove.measurement.attribution import decision_rewards
from nextmove.measurement.impact import account_outcomes
from nextmove.measurement.model import Metric
from nextmove.measurement.monitoring import daily_conversions
from nextmove.playbook.loader import load_playbook
from nextmove.sim import SimConfig, SyntheticCompany, generate

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
DAY = datetime(2026, 11, 2, 9, tzinfo=UTC)
UTC_US = pl.Datetime("us", "UTC")
EVERY_TYPE = [kind.value for kind in OutcomeType]


def decision() -> pl.DataFrame:
    """One sales move on account ``a`` about ``p1``, made on DAY."""
    return pl.DataFrame(
        {
            "run_id": [1],
            "account_id": ["a"],
            "as_of": [DAY],
            "action": ["sales_outreach"],
            "product_id": ["p1"],
            "holdout": [False],
            "reasons": [json.dumps({"why": "", "runner_up": None})],
        },
        schema_overrides={"as_of": UTC_US},
    )


def outcome(outcome_type: str, account_id: str = "a", product_id: str = "p1") -> pl.DataFrame:
    """One outcome worth 100 of ``outcome_type``, a day after DAY."""
    return pl.DataFrame(
        {
            "outcome_id": ["o1"],
            "account_id": [account_id],
            "outcome_type": [outcome_type],
            "product_id": [product_id],
            "value": [100.0],
            "occurred_at": [DAY + timedelta(days=1)],
        },
        schema_overrides={"occurred_at": UTC_US},
    )


def test_purchases_and_won_opportunities_are_the_sales() -> None:
    assert SALE_OUTCOMES == ("purchase", "opportunity_won")


@pytest.mark.parametrize("outcome_type", EVERY_TYPE)
def test_a_reward_counts_only_sales(outcome_type: str) -> None:
    rewards = decision_rewards(decision(), outcome(outcome_type), timedelta(days=7), {})
    assert rewards.tolist() == [100.0 if outcome_type in SALE_OUTCOMES else 0.0]


@pytest.mark.parametrize("outcome_type", EVERY_TYPE)
def test_revenue_and_conversion_count_only_sales(outcome_type: str) -> None:
    metrics = [Metric.REVENUE, Metric.CONVERSION]
    table = account_outcomes(decision(), outcome(outcome_type), metrics, until=DAY + timedelta(9))
    sale = outcome_type in SALE_OUTCOMES
    assert table.select("revenue", "conversion").row(0) == ((100.0, 1.0) if sale else (0.0, 0.0))


@pytest.mark.parametrize("outcome_type", EVERY_TYPE)
def test_a_move_converts_only_on_a_sale(outcome_type: str) -> None:
    daily = daily_conversions(decision(), outcome(outcome_type), DAY + timedelta(days=9), 7)
    assert daily["conversions"].to_list() == [1 if outcome_type in SALE_OUTCOMES else 0]


@pytest.fixture(scope="module")
def company() -> SyntheticCompany:
    return generate(SimConfig(seed=3, accounts=60))


@pytest.mark.parametrize("outcome_type", EVERY_TYPE)
def test_a_training_row_is_labelled_bought_only_after_a_sale(
    company: SyntheticCompany, outcome_type: str
) -> None:
    playbook = load_playbook(EXAMPLE.read_text(encoding="utf-8")).playbook
    frames = company.frames()
    catalog = catalog_of(frames["products"])
    account, product = frames["accounts"]["account_id"][0], catalog.product_ids[0]
    followed = outcome(outcome_type, account, product)
    frames["outcomes"] = pl.concat([frames["outcomes"].clear(), followed], how="diagonal_relaxed")
    sample = pl.DataFrame(
        {"account_id": [account], "action": ["sales_outreach"], "product_id": [product],
         "as_of": [DAY]},
        schema_overrides={"as_of": UTC_US},
    )  # fmt: skip
    touches = pl.DataFrame(
        schema={"account_id": pl.String, "action": pl.String, "occurred_at": UTC_US}
    )
    actions = tuple(name for name in playbook.actions if name != "no_action")
    rows = training_rows(
        sample, frames, touches, playbook, catalog, actions, DAY + timedelta(days=60)
    )
    assert rows.bought.tolist() == [1.0 if outcome_type in SALE_OUTCOMES else 0.0]
