"""Reasons a rep reads: why this move, the runner-up, and what stopped the others."""

from __future__ import annotations

import json

import polars as pl

from nextmove.decisions.reasons import reasons_column


def test_each_kind_of_decision_says_why() -> None:
    decisions = pl.DataFrame(
        {
            "row": [0, 1, 2, 3, 4, 5],
            "action": [
                "sales_outreach",
                "no_action",
                "no_action",
                "no_action",
                "no_action",
                "no_action",
            ],
            "product_id": ["prod-a", None, None, None, None, None],
            "expected_value": [8200.4, 0.0, 0.0, 0.0, 0.0, 0.0],
            "uplift": [0.041, 0.0, 0.0, 0.0, 0.0, 0.0],
            "value": [21000.0, None, None, None, None, None],
            "holdout": [False, True, False, False, False, False],
            "explored": [False, False, False, False, False, True],
        }
    )
    allowed = pl.DataFrame(
        {
            "row": [0, 0, 2, 3],
            "action": ["sales_outreach", "digital_program", "digital_program", "sales_outreach"],
            "product_id": ["prod-a", "prod-b", "prod-b", "prod-c"],
            "expected_value": [8200.4, 1100.0, -283.0, 3000.0],
            "score": [8200.4, 1100.0, -283.0, 3000.0],
        }
    )
    options = allowed.filter(pl.col("expected_value") > 2000)
    blocked = pl.DataFrame(
        {
            "row": [0, 4, 4],
            "action": ["service_conversation", "sales_outreach", "digital_program"],
            "rule_id": ["service_for_customers_at_risk", "consent.opt_out", "consent.opt_out"],
        }
    )
    reasons = [json.loads(text) for text in reasons_column(decisions, allowed, options, blocked)]

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
    assert sorted(reasons[4]["blocked"]) == [
        "digital_program: consent.opt_out",
        "sales_outreach: consent.opt_out",
    ]
    assert reasons[5]["why"].startswith("exploring") and reasons[5]["explored"]
    assert reasons[5]["blocked"] == []
