"""The attribution rule and the per-account lift table, on hand-made decisions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from nextmove.measurement.attribution import attribute, decision_rewards
from nextmove.measurement.impact import account_outcomes, candidate_moves, lift_by
from nextmove.measurement.model import Metric

DAY = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _decisions(rows: list[tuple[str, int, str, str | None, bool]]) -> pl.DataFrame:
    """(account, day, action, product, holdout) → a decision log."""
    return pl.DataFrame(
        {
            "account_id": [r[0] for r in rows],
            "run_id": [r[1] for r in rows],
            "as_of": [DAY + timedelta(days=r[1]) for r in rows],
            "action": [r[2] for r in rows],
            "product_id": [r[3] for r in rows],
            "holdout": [r[4] for r in rows],
            "explored": [False] * len(rows),
            "propensity": [1.0] * len(rows),
            "reasons": [json.dumps({"why": "", "runner_up": None}) for _ in rows],
        },
        schema_overrides={"as_of": pl.Datetime("us", "UTC"), "product_id": pl.String},
    )


def _outcomes(rows: list[tuple[str, str, str, str | None, float, float]]) -> pl.DataFrame:
    """(id, account, type, product, value, days after DAY) → outcomes."""
    return pl.DataFrame(
        {
            "outcome_id": [r[0] for r in rows],
            "account_id": [r[1] for r in rows],
            "outcome_type": [r[2] for r in rows],
            "product_id": [r[3] for r in rows],
            "value": [r[4] for r in rows],
            "occurred_at": [DAY + timedelta(days=r[5]) for r in rows],
        },
        schema_overrides={"occurred_at": pl.Datetime("us", "UTC"), "product_id": pl.String},
    )


def test_an_outcome_goes_to_the_latest_acting_decision_within_the_window() -> None:
    decisions = _decisions(
        [
            ("a", 0, "sales_outreach", "p1", False),
            ("a", 3, "digital_program", "p2", False),
            ("a", 5, "no_action", None, False),
            ("b", 0, "no_action", None, True),
        ]
    )
    outcomes = _outcomes(
        [
            ("o1", "a", "purchase", "p3", 100.0, 6),  # latest acting: day 3
            ("o2", "a", "purchase", "p1", 100.0, 6),  # same product wins: day 0
            ("o3", "a", "purchase", "p1", 100.0, 45),  # outside every window
            ("o4", "b", "purchase", "p1", 100.0, 1),  # the holdout's no_action
            ("o5", "a", "purchase", "p1", 100.0, 0),  # at the decision: not after it
        ]
    )
    found = attribute(decisions, outcomes, window_days=30).sort("outcome_id")
    assert found["run_id"].to_list() == [3, 0, None, 0, None]
    assert found["holdout"].to_list() == [False, False, None, True, None]
    only_idle = attribute(decisions.filter(pl.col("run_id") == 5), outcomes, 30)
    assert only_idle.sort("outcome_id")["action"].to_list()[0] == "no_action"


def test_the_window_is_the_playbooks_attribution_days() -> None:
    decisions = _decisions([("a", 0, "sales_outreach", "p1", False)])
    outcomes = _outcomes([("o1", "a", "purchase", "p1", 1.0, 10)])
    assert attribute(decisions, outcomes, 10)["run_id"].to_list() == [0]
    assert attribute(decisions, outcomes, 9)["run_id"].to_list() == [None]


def test_account_outcomes_count_after_entering_and_until_the_end() -> None:
    decisions = _decisions(
        [("a", 1, "sales_outreach", "p1", False), ("a", 2, "no_action", None, False),
         ("b", 1, "no_action", None, True)]
    )  # fmt: skip
    outcomes = _outcomes(
        [("o1", "a", "purchase", "p1", 100.0, 0.5), ("o2", "a", "purchase", "p1", 40.0, 2),
         ("o3", "a", "purchase", "p2", 60.0, 3), ("o4", "a", "unsubscribe", None, 0.0, 3),
         ("o5", "b", "purchase", "p1", 10.0, 9)]
    )  # fmt: skip
    metrics = [Metric.REVENUE, Metric.CONVERSION, Metric.UNSUBSCRIBE]
    table = account_outcomes(decisions, outcomes, metrics, until=DAY + timedelta(days=5))
    rows = {r["account_id"]: r for r in table.iter_rows(named=True)}
    assert rows["a"]["revenue"] == 100.0 and rows["a"]["conversion"] == 1.0
    assert rows["a"]["unsubscribe"] == 1.0
    assert rows["b"]["revenue"] == 0.0 and rows["b"]["holdout"]


def test_lift_by_group_compares_treated_with_held_out_accounts() -> None:
    table = pl.DataFrame(
        {
            "holdout": [False, False, True, True, False, True],
            "segment": ["smb", "smb", "smb", "smb", "ent", None],
            "revenue": [10.0, 20.0, 0.0, 10.0, 5.0, 0.0],
        }
    )
    overall = lift_by(table, Metric.REVENUE)
    assert overall[0].lift.value == pytest.approx(35 / 3 - 10 / 3)
    by_segment = lift_by(table, Metric.REVENUE, "segment")
    assert [r.group for r in by_segment] == ["smb"]  # ent has no control account
    assert by_segment[0].lift.value == pytest.approx(10.0)
    assert by_segment[0].relative == pytest.approx(2.0)


def test_candidate_moves_read_the_runner_up_of_idle_decisions() -> None:
    reasons = [
        json.dumps({"why": "x", "runner_up": "digital_program for prod-a: expected +12"}),
        json.dumps({"why": "x", "runner_up": None}),
        json.dumps({"why": "x", "runner_up": "service_conversation for the account: expected +1"}),
        json.dumps({"why": "x", "runner_up": "digital_program for prod-b: expected +3"}),
    ]
    frame = pl.DataFrame(
        {
            "action": ["no_action", "no_action", "no_action", "sales_outreach"],
            "product_id": [None, None, None, "prod-c"],
            "reasons": reasons,
        },
        schema_overrides={"product_id": pl.String},
    )
    found = candidate_moves(frame)
    assert found["motion"].to_list() == [
        "digital_program", None, "service_conversation", "sales_outreach",
    ]  # fmt: skip
    assert found["candidate_product"].to_list() == ["prod-a", None, None, "prod-c"]


def test_a_decisions_reward_is_what_its_account_bought_in_the_window_less_its_cost() -> None:
    day = datetime(2026, 10, 1, tzinfo=UTC)
    decisions = pl.DataFrame(
        {
            "run_id": [1, 1, 2],
            "account_id": ["a", "b", "a"],
            "as_of": [day, day, day + timedelta(days=5)],
            "action": ["sales_outreach", "no_action", "digital_program"],
        }
    )
    outcomes = pl.DataFrame(
        {
            "account_id": ["a", "a", "a", "b"],
            "outcome_type": ["purchase", "opportunity_won", "unsubscribe", "purchase"],
            "value": [1000.0, 500.0, None, None],
            "occurred_at": [day + timedelta(days=d) for d in (2, 6, 3, 20)],
        }
    )
    costs = {"sales_outreach": 400.0, "digital_program": 10.0}
    window = timedelta(days=7)
    rewards = decision_rewards(decisions, outcomes, window, costs)
    # a, run 1: both sales (day 2 and 6) − 400; b: its purchase is past the window;
    # a, run 2: only the won opportunity (day 6) − 10.
    assert rewards.tolist() == [1100.0, 0.0, 490.0]
    cut = decision_rewards(decisions, outcomes, window, costs, until=day + timedelta(days=4))
    assert cut.tolist() == [600.0, 0.0, -10.0]
