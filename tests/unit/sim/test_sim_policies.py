"""Comparison policies: each goes through the engine's own pipeline and does what it says."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from nextmove.decisions.candidates import Catalog, action_specs, buyable, catalog_of
from nextmove.decisions.context import AccountContext, ContextInputs, build_context
from nextmove.decisions.pipeline import DecisionBatch, decide_accounts
from nextmove.decisions.scoring import Scorer
from nextmove.governance.guardrails import apply_guardrails
from nextmove.playbook.loader import load_playbook
from nextmove.playbook.model import Playbook
from nextmove.playbook.policy import GuardrailPolicy, guardrail_policy
from nextmove.playbook.semantics import KnownCatalog, context_schema_for
from nextmove.sim import SimConfig, SyntheticCompany, World, generate
from nextmove.sim.bandit import BanditScorer
from nextmove.sim.policies import OracleScorer, PropensityScorer, RandomScorer, RulesScorer

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"
COSTS = {"sales_outreach": 400.0, "digital_program": 15.0, "service_conversation": 250.0}


@pytest.fixture(scope="module")
def small() -> SyntheticCompany:
    return generate(SimConfig(seed=5, accounts=800))


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    text = EXAMPLE.read_text(encoding="utf-8")
    loaded = load_playbook(text).playbook
    thresholds = loaded.thresholds.model_copy(
        update={"min_expected_value": 0.0, "min_confidence": 0.0, "by_action": {}}
    )
    # Baselines run without the engine's exploration (as in the quality benchmark).
    measurement = loaded.measurement.model_copy(update={"exploration_budget": 0.0})
    return loaded.model_copy(update={"thresholds": thresholds, "measurement": measurement})


@pytest.fixture(scope="module")
def catalog(small: SyntheticCompany) -> Catalog:
    return catalog_of(small.products)


@pytest.fixture(scope="module")
def context(small: SyntheticCompany, playbook: Playbook) -> AccountContext:
    return context_at(small, playbook, datetime.combine(small.as_of, time(23), tzinfo=UTC))


def context_at(company: SyntheticCompany, playbook: Playbook, as_of: datetime) -> AccountContext:
    frames = company.frames()
    kinds = ("accounts", "contacts", "products", "holdings", "opportunities", "signals")
    return build_context(
        ContextInputs(outcomes=frames["outcomes"], **{k: frames[k] for k in kinds}),
        playbook,
        as_of,
    )


def policy_of(playbook: Playbook, company: SyntheticCompany) -> GuardrailPolicy:
    products = frozenset(company.products["product_id"].to_list())
    return guardrail_policy(playbook, context_schema_for(playbook, KnownCatalog(products=products)))


def decide(
    scorer: Scorer, context: AccountContext, playbook: Playbook, company: SyntheticCompany
) -> DecisionBatch:
    return decide_accounts(
        context, playbook, policy_of(playbook, company), catalog_of(company.products), scorer
    )


def acting(batch: DecisionBatch) -> pl.DataFrame:
    return batch.decisions.filter(pl.col("action") != "no_action")


def test_the_oracle_acts_only_where_the_truth_says_a_move_pays(
    small: SyntheticCompany, context: AccountContext, playbook: Playbook
) -> None:
    world = World(small)
    batch = decide(OracleScorer(world), context, playbook, small)
    moves = acting(batch)
    assert moves.height > 50
    truth = world.expected_value(
        moves["account_id"].to_list(), moves["action"].to_list(), moves["product_id"].to_list()
    )
    net = truth - moves["action"].replace_strict(COSTS).to_numpy()
    assert np.allclose(net, moves["expected_value"].to_numpy())
    assert (net > 0).all()
    assert batch.breaches == 0


def test_the_oracle_picks_each_accounts_best_product_for_its_motion(
    small: SyntheticCompany, context: AccountContext, playbook: Playbook, catalog: Catalog
) -> None:
    world = World(small)
    moves = acting(decide(OracleScorer(world), context, playbook, small))
    can_buy = buyable(context.frame, catalog)
    row_of = {a: i for i, a in enumerate(context.frame["account_id"].to_list())}
    carried = {spec.name: spec.products for spec in action_specs(playbook, catalog)}
    for account_id, action, value in (
        moves.select("account_id", "action", "expected_value").head(40).iter_rows()
    ):
        options = [
            catalog.product_ids[j] for j in carried[action] if can_buy[row_of[account_id], j]
        ]
        worth = world.expected_value([account_id] * len(options), [action] * len(options), options)
        assert value == pytest.approx(worth.max() - COSTS[action])


def test_rules_route_by_interest_segment_and_tickets(
    small: SyntheticCompany, context: AccountContext, playbook: Playbook
) -> None:
    decisions = decide(RulesScorer(), context, playbook, small).decisions
    frame = context.frame.join(decisions, on="account_id")
    interested = (pl.col("signals__intent_surge__30d") >= 1) | (
        pl.col("signals__pricing_visits__30d") >= 2
    )
    ticket = (pl.col("signals__support_ticket__open") > 0) & (pl.col("products_held") > 0)
    moves = frame.filter(pl.col("action") != "no_action")
    assert moves.height > 20
    assert moves.filter(~interested & ~ticket).height == 0
    assert moves.filter(
        (pl.col("action") == "sales_outreach") & ~pl.col("segment").is_in(["mid", "ent"])
    ).is_empty()
    assert moves.filter((pl.col("action") == "service_conversation") & ~ticket).is_empty()
    assert moves.filter(
        (pl.col("action") == "digital_program") & pl.col("segment").is_in(["mid", "ent"])
        & ~ticket
    ).is_empty()  # fmt: skip


def test_random_moves_are_spread_and_repeatable(
    small: SyntheticCompany, context: AccountContext, playbook: Playbook
) -> None:
    first = decide(RandomScorer(seed=3), context, playbook, small).decisions
    again = decide(RandomScorer(seed=3), context, playbook, small).decisions
    other = decide(RandomScorer(seed=4), context, playbook, small).decisions
    assert first.equals(again)
    assert not first["action"].equals(other["action"])
    counts = dict(first.group_by("action").len().iter_rows())
    assert set(counts) == {"no_action", "sales_outreach", "digital_program", "service_conversation"}


def test_propensity_learns_who_buys_and_targets_them(
    small: SyntheticCompany, context: AccountContext, playbook: Playbook, catalog: Catalog
) -> None:
    # Purchases planted on accounts with pricing interest: the model must rank them first.
    can_buy = buyable(context.frame, catalog)
    visits = context.frame["signals__pricing_visits__30d"].to_numpy()
    rows = np.flatnonzero((visits >= 2) & can_buy.any(axis=1))[:60]
    buyers = [context.frame["account_id"][int(i)] for i in rows]
    products = [catalog.product_ids[int(np.argmax(can_buy[i]))] for i in rows]
    purchases = pl.DataFrame({"account_id": buyers, "product_id": products})
    scorer = PropensityScorer().fit([(context, purchases)], playbook, catalog)
    p = scorer.propensity(context, playbook, catalog)
    planted = context.frame["account_id"].is_in(buyers).to_numpy()
    assert p[planted].max(axis=1).mean() > 3 * p[~planted].max(axis=1).mean()
    moves = acting(decide(scorer, context, playbook, small))
    share = float(moves["account_id"].is_in(buyers).mean())  # type: ignore[arg-type]
    assert share > 3 * planted.mean()


def test_the_bandit_learns_which_move_pays(
    small: SyntheticCompany, context: AccountContext, playbook: Playbook
) -> None:
    bandit = BanditScorer(seed=1, epsilon=0.2)
    for _ in range(6):
        batch = decide(bandit, context, playbook, small)
        made = {
            a: (m, p)
            for a, m, p in acting(batch).select("account_id", "action", "product_id").iter_rows()
        }
        # Only the digital programme pays, a lot; everything else costs.
        rewards = {a: (5_000.0 if m == "digital_program" else -500.0) for a, (m, _) in made.items()}
        assert bandit.learn(made, rewards) > 0
    counts = dict(
        acting(decide(bandit, context, playbook, small)).group_by("action").len().iter_rows()
    )
    assert counts.get("digital_program", 0) > 2 * max(
        counts.get("sales_outreach", 0), counts.get("service_conversation", 0)
    )


def test_every_policy_stays_inside_the_guardrails(
    small: SyntheticCompany, context: AccountContext, playbook: Playbook
) -> None:
    policy = policy_of(playbook, small)
    for scorer in (RandomScorer(seed=2), RulesScorer(), OracleScorer(World(small))):
        moves = acting(decide(scorer, context, playbook, small))
        checked = apply_guardrails(
            context.frame.join(moves, on="account_id", suffix="_decided")
            .with_columns(motion=pl.col("action"))
            .join(_action_columns(playbook), on="action"),
            policy.rules,
        )
        assert checked.blocked.height == 0, scorer


def _action_columns(playbook: Playbook) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "action": list(playbook.actions),
            "channel": [a.channel.value for a in playbook.actions.values()],
        }
    )


def test_the_value_matrix_agrees_with_expected_value(
    small: SyntheticCompany, catalog: Catalog
) -> None:
    world = World(small)
    accounts = small.accounts["account_id"].to_list()[:30]
    matrix = world.value_matrix([*accounts, "acct-unknown"], [*catalog.product_ids, "prod-x"])
    for m, motion in enumerate(("sales_outreach", "digital_program", "service_conversation")):
        for j, product in enumerate(catalog.product_ids):
            single = world.expected_value(accounts, [motion] * 30, [product] * 30)
            assert np.allclose(matrix[m, :30, j], single)
    assert np.isnan(matrix[:, 30, :]).all()
    assert np.isnan(matrix[:, :, -1]).all()
