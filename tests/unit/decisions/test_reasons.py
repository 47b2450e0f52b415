"""Reasons a rep reads: why this move, the runner-up, and what stopped the others."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from nextmove.decisions.ranking import CandidateTable, blocked_lists
from nextmove.decisions.reasons import json_lists, offer_text, reasons_column

ACTIONS = ("sales_outreach", "digital_program", "service_conversation")


def test_each_kind_of_decision_says_why() -> None:
    runner_up = pl.DataFrame(
        {
            "action": ["digital_program", None, "digital_program", "sales_outreach", None, None],
            "product_id": ["prod-b", None, "prod-b", "prod-c", None, None],
            "expected_value": [1100.0, None, -283.0, 3000.0, None, None],
        }
    ).select(
        offer_text(pl.col("action"), pl.col("product_id"), pl.col("expected_value")).alias(
            "runner_up"
        )
    )
    facts = pl.DataFrame(
        {
            "action": ["sales_outreach", *["no_action"] * 5],
            "product_id": ["prod-a", None, None, None, None, None],
            "expected_value": [8200.4, 0.0, 0.0, 0.0, 0.0, 0.0],
            "uplift": [0.041, 0.0, 0.0, 0.0, 0.0, 0.0],
            "value": [21000.0, None, None, None, None, None],
            "holdout": [False, True, False, False, False, False],
            "explored": [False, False, False, False, False, True],
            "runner_up": runner_up["runner_up"],
            "had_option": [True, False, False, True, False, False],
            "blocked": json_lists(
                [
                    ["service_conversation: service_for_customers_at_risk"],
                    [],
                    [],
                    [],
                    ["sales_outreach: consent.opt_out", "digital_program: consent.opt_out"],
                    [],
                ]
            ),
        }
    )
    reasons = [json.loads(text) for text in reasons_column(facts)]

    acting = reasons[0]
    assert acting["why"] == (
        "sales_outreach for prod-a: expected +8200 (4.1 points more likely to buy a 21000 "
        "sale, net of its cost)"
    )
    assert acting["runner_up"] == "digital_program for prod-b: expected +1100"
    assert acting["blocked"] == ["service_conversation: service_for_customers_at_risk"]
    assert reasons[1]["why"].startswith("held out") and reasons[1]["holdout"]
    assert reasons[2]["why"] == (
        "no move cleared the playbook's thresholds (least value and confidence); the best "
        "was digital_program for prod-b: expected -283"
    )
    assert reasons[3]["why"].startswith("capacity went to moves worth more")
    assert reasons[4]["why"] == "every possible move was blocked by a rule"
    assert reasons[4]["blocked"] == [
        "sales_outreach: consent.opt_out",
        "digital_program: consent.opt_out",
    ]
    assert reasons[5]["why"].startswith("exploring") and reasons[5]["explored"]
    assert reasons[5]["blocked"] == []


def test_reasons_are_json_whatever_the_names_hold() -> None:
    odd = 'prod-"quoted"\\back\nline é'
    facts = pl.DataFrame(
        {
            "action": ["sales_outreach", "no_action"],
            "product_id": [odd, None],
            "expected_value": [-12.6, 0.0],
            "uplift": [0.01, 0.0],
            "value": [None, None],
            "holdout": [False, False],
            "explored": [True, False],
            "runner_up": pl.DataFrame({"a": ["x"], "p": [odd], "e": [3.0]})
            .select(offer_text(pl.col("a"), pl.col("p"), pl.col("e")))
            .to_series()
            .append(pl.Series([None], dtype=pl.String)),
            "had_option": [False, False],
            "blocked": json_lists([[f"x: {odd}"], []]),
        }
    )
    first, second = (json.loads(text) for text in reasons_column(facts))

    assert first == {
        "why": f"sales_outreach for {odd}: expected -13 (1.0 points more likely to buy a 0 "
        "sale, net of its cost)",
        "runner_up": f"x for {odd}: expected +3",
        "blocked": [f"x: {odd}"],
        "explored": True,
        "holdout": False,
    }
    assert second["why"] == "nothing the account could buy fits any motion"
    assert second["runner_up"] is None and second["blocked"] == []


def test_the_best_and_the_runner_up_come_from_each_account_s_own_candidates() -> None:
    # Account 0 has all three actions, account 1 none, account 2 two of equal score.
    row = np.array([0, 0, 0, 2, 2])
    action = np.array([0, 1, 2, 1, 2])
    score = np.array([5.0, 9.0, 7.0, 3.0, 3.0])
    table = CandidateTable.of(3, len(ACTIONS), row, action)

    assert table.count().tolist() == [3, 0, 2]
    assert table.best(score).tolist() == [1, -1, 1]  # a tie goes to the first action
    second = table.best(score, without=np.array([1, -1, 1]))
    assert second.tolist() == [2, -1, 2]
    assert table.at(second).tolist() == [2, -1, 4]


def test_blocked_lists_name_each_action_and_its_first_rule_in_action_order() -> None:
    table = CandidateTable.of(4, len(ACTIONS), np.array([3, 0, 3, 2]), np.array([2, 1, 0, 2]))
    rules = ("consent.opt_out", "sales_mid_ent_only", "after_touch")
    lists = blocked_lists(table, np.array([0, 2, 1, 0]), ACTIONS, rules)

    assert [json.loads(text) for text in lists] == [
        ["digital_program: after_touch"],
        [],
        ["service_conversation: consent.opt_out"],
        ["sales_outreach: sales_mid_ent_only", "service_conversation: consent.opt_out"],
    ]
