"""Deciding one account takes shortcuts (Python for a few values, no allocation when no
capacity binds, no query whose result is known): they decide exactly as the paths a batch
takes, value for value and type for type."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from nextmove.decisions import (
    candidates,
    decision_rows,
    pipeline,
    reasons,
    screening,
    selection,
)
from nextmove.decisions.candidates import catalog_of
from nextmove.decisions.context import AccountContext, ContextInputs, build_context
from nextmove.decisions.pipeline import DecisionBatch, decide_accounts
from nextmove.decisions.reasons import json_lists, reasons_column
from nextmove.governance import autonomy, guardrails
from nextmove.governance.guardrail_rules import CapacityLimit, Rule
from nextmove.learning import features
from nextmove.learning.features import account_features, feature_names
from nextmove.learning.response import prior_model
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import AutonomyLevel, Playbook
from nextmove.playbook.policy import GuardrailPolicy, guardrail_policy
from nextmove.playbook.semantics import KnownCatalog, context_schema_for
from nextmove.sim import SimConfig, SyntheticCompany, generate

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
AS_OF = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)

# Below these sizes a shortcut is taken; at 0 (or above, for _LONG) never.
_SHORTCUTS = [
    (pipeline, "_FEW", 0),
    (decision_rows, "_FEW", 0),
    (reasons, "_FEW", 0),
    (screening, "_FEW_CANDIDATES", -1),
    (candidates, "_FEW", 0),
    (selection, "_FEW", 0),
    (features, "_FEW_ROWS", 0),
    (features, "_LONG", 0),
    (guardrails, "_FEW_VALUES", 0),
    (autonomy, "_FEW", -1),
    (guardrails, "_FEW_CANDIDATES", -1),
]


@pytest.fixture(scope="module")
def company() -> SyntheticCompany:
    return generate(SimConfig(seed=5, accounts=400))


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    text = EXAMPLE.read_text(encoding="utf-8")
    # Generous thresholds: many accounts act, so the acting paths are taken.
    return load_playbook(
        text.replace("min_expected_value: 2500", "min_expected_value: 100")
    ).playbook


def _inputs(company: SyntheticCompany, account_ids: list[str]) -> ContextInputs:
    frames = company.frames()
    return ContextInputs(
        accounts=frames["accounts"],
        contacts=frames["contacts"],
        products=frames["products"],
        holdings=frames["holdings"],
        opportunities=frames["opportunities"],
        signals=frames["signals"],
        outcomes=frames["outcomes"],
    ).for_accounts(account_ids)


def _policy(playbook: Playbook, company: SyntheticCompany) -> GuardrailPolicy:
    products = frozenset(company.products["product_id"].to_list())
    return guardrail_policy(playbook, context_schema_for(playbook, KnownCatalog(products=products)))


def _decide(
    context: AccountContext, playbook: Playbook, company: SyntheticCompany, **kwargs: object
) -> DecisionBatch:
    catalog = catalog_of(company.products)
    actions = tuple(name for name in playbook.actions if name != "no_action")
    model = prior_model(playbook, feature_names(playbook), catalog.product_ids, actions)
    policy = _policy(playbook, company)
    return decide_accounts(context, playbook, policy, catalog, model, **kwargs)  # type: ignore[arg-type]


def _same(a: DecisionBatch, b: DecisionBatch) -> None:
    for left, right in [
        (a.decisions, b.decisions),
        (a.shadow_prices, b.shadow_prices),
        (a.blocked, b.blocked),
    ]:
        assert left.schema == right.schema
        assert left.equals(right)
    assert (a.breaches, a.summary, a.model_version) == (b.breaches, b.summary, b.model_version)


def test_the_shortcuts_decide_as_the_batch_paths(
    company: SyntheticCompany, playbook: Playbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = sorted(company.accounts["account_id"].to_list())
    policy = _policy(playbook, company)
    scarce = [replace(limit, default=1) for limit in policy.capacities]
    demoted = {"digital_program": AutonomyLevel.SHADOW}
    contexts = [build_context(_inputs(company, [i]), playbook, AS_OF) for i in ids[:60]]
    contexts.append(build_context(_inputs(company, ids), playbook, AS_OF))
    cases = [{}, {"capacities": scarce}, {"demoted": demoted}, {"capacities": []}]
    shortcut = [[_decide(c, playbook, company, **kw) for kw in cases] for c in contexts]
    for module, name, never in _SHORTCUTS:
        monkeypatch.setattr(module, name, never)
    for context, decided in zip(contexts, shortcut, strict=True):
        for kw, batch in zip(cases, decided, strict=True):
            _same(batch, _decide(context, playbook, company, **kw))
    acting = [d[0] for d in shortcut[:-1] if (d[0].decisions["action"] != "no_action").any()]
    explored = [d[0] for d in shortcut if d[0].decisions["explored"].any()]
    scarce_prices = [d[1] for d in shortcut[:-1] if d[1].shadow_prices["binding"].any()]
    assert acting and explored, "the sample needs acting and exploring accounts"
    assert shortcut[-1][1].shadow_prices["binding"].any() or scarce_prices


def test_features_read_nulls_nan_and_missing_columns_as_before(playbook: Playbook) -> None:
    frame = pl.DataFrame(
        {
            "segment": ["mid", None, "ent"],
            "products_held": [3.0, None, float("nan")],
            "employees": [-5.0, 99.0, None],
            "days_since_last_touch": [15.0, None, float("nan")],
            "signals__usage__value": [40.0, None, float("nan")],
        }
    )
    found = account_features(frame, playbook)
    column = dict(zip(found.names, found.matrix.T, strict=True))
    assert column["segment_mid"].tolist() == [1.0, 0.0, 0.0]
    assert column["customer"].tolist() == [1.0, 0.0, 0.0]
    assert column["products_held"].tolist() == [3.0 * (1 / 5.0), 0.0, 0.0]
    assert column["log_employees"].tolist() == [0.0, math.log(100.0) * (1 / 10.0), 0.0]
    recency = column["touched_recently"]
    assert recency[0] == math.exp(-15.0 * (1 / 30.0)) and recency[1] == 0.0  # never touched
    assert math.isnan(recency[2])  # NaN is not null: it stays
    assert column["usage_missing"].tolist() == [0.0, 1.0, 0.0]
    assert column["usage_value"].tolist() == [40.0 * (1 / 100.0), 0.0, 0.0]
    assert column["web_visits_score"].tolist() == [0.0, 0.0, 0.0]  # a column it lacks
    assert found.matrix.flags.c_contiguous and found.matrix.dtype == np.float64


def test_plain_blocked_lists_are_written_as_polars_writes_them() -> None:
    lists = [["a: consent.opt_out", "b: x-y_z/1"], [], ['q: "quoted"', "é: \\ \t"]]
    encoded = (
        pl.Series("l", lists, dtype=pl.List(pl.String))
        .to_frame()
        .select(pl.struct("l").struct.json_encode().str.slice(len('{"l":')))
    )
    assert json_lists(lists) == [text[:-1] for text in encoded.to_series().to_list()]
    assert [json.loads(text) for text in json_lists(lists)] == lists


def test_mixed_rows_are_worded_as_each_row_alone() -> None:
    facts = pl.DataFrame(
        {
            "action": ["sales_outreach", "no_action", "digital_program", "no_action"],
            "product_id": ["prod-a", None, None, None],
            "expected_value": [8200.4, 0.0, -3.5, 0.0],
            "uplift": [0.041, 0.0, None, 0.0],
            "value": [21000.0, None, 100.0, None],
            "holdout": [False, True, False, False],
            "explored": [False, False, True, False],
            "runner_up": [None, None, "digital_program for prod-b: expected +1100", None],
            "had_option": [True, False, False, False],
            "blocked": ["[]", "[]", '["a: b"]', '["a: b"]'],
        },
        schema_overrides={"runner_up": pl.String, "product_id": pl.String},
    )
    together = reasons_column(facts).to_list()
    assert together == [reasons_column(facts[i : i + 1])[0] for i in range(facts.height)]
    assert json.loads(together[2])["why"] is None  # an unknown uplift: nothing to say, as before


def test_rules_that_are_literals_or_null_screen_every_candidate() -> None:
    candidates = pl.DataFrame(
        {"action": ["a", "no_action", None], "x": [1.0, 2.0, None]},
        schema={"action": pl.String, "x": pl.Float64},
    )
    rules = [
        Rule("everything", "", pl.lit(True), actions=frozenset({"a"})),
        Rule("unknown", "", pl.lit(None)),
        Rule("big", "", pl.col("x") > 1.5),
    ]
    result = guardrails.apply_guardrails(candidates, rules)
    assert result.allowed["action"].to_list() == ["no_action"]
    # A candidate without an action is concerned by every rule, whatever its actions.
    assert result.blocked["rule_id"].cast(pl.String).to_list() == ["everything", "everything"]
    assert result.blocked["violated_rule_ids"].to_list()[1] == ["everything", "unknown", "big"]


def test_a_capacity_on_an_unlimited_group_counts_nothing(
    company: SyntheticCompany, playbook: Playbook
) -> None:
    ids = sorted(company.accounts["account_id"].to_list())[:40]
    context = build_context(_inputs(company, ids), playbook, AS_OF)
    policy = _policy(playbook, company)
    open_ended = [replace(limit, limits={}, default=None) for limit in policy.capacities]
    open_ended.append(CapacityLimit("by_segment", "segment", {"smb": 1000}, default=None))
    batch = _decide(context, playbook, company, capacities=open_ended)
    prices = batch.shadow_prices
    assert prices["constraint_id"].to_list() == ["by_segment:smb"] or prices.height == 0
    assert not prices["binding"].any()
