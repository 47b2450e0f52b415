from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from nextmove.domain import Outcome, Signal
from nextmove.errors import SimulationError
from nextmove.sim import (
    Motion,
    ResponseType,
    SimAction,
    SimConfig,
    SyntheticCompany,
    World,
    generate,
)

SALES, DIGITAL = 0, 1


def _actions(world: World, accounts: list[str], motion: Motion) -> list[SimAction]:
    return [SimAction(account_id=a, motion=motion, day=world.day) for a in accounts]


def _purchasers(outcomes: pl.DataFrame, accounts: list[str]) -> int:
    bought = outcomes.filter(
        (pl.col("outcome_type") == "purchase") & pl.col("account_id").is_in(accounts)
    )
    return bought["account_id"].n_unique()


def _accounts_of(company: SyntheticCompany, response: ResponseType, motion: int) -> list[str]:
    ids = np.array(company.truth.account_ids)
    chosen = (company.truth.response[:, motion] == response) & company.truth.held.any(axis=1)
    return [str(a) for a in ids[chosen]]


def test_world_starts_on_the_last_history_day(company: SyntheticCompany) -> None:
    world = World(company)
    assert world.day == company.as_of
    world.step([])
    assert world.day == company.as_of + timedelta(days=1)


def test_world_can_be_built_from_a_config() -> None:
    config = SimConfig(seed=4, accounts=300, history_days=30, change_day=10)
    assert World(config).day == config.as_of


def test_steps_are_deterministic(company: SyntheticCompany) -> None:
    accounts = company.accounts["account_id"].head(500).to_list()
    runs = []
    for _ in range(2):
        world = World(company)
        frames = []
        for motion in (Motion.SALES_OUTREACH, Motion.DIGITAL_PROGRAM):
            frames.append(world.signal_frame_for_day())
            frames.append(world.step_frame(_actions(world, accounts, motion)))
        runs.append(frames)
    for first, second in zip(*runs, strict=True):
        assert first.equals(second)
    assert any(frame.height for frame in runs[0])


def test_step_returns_valid_outcome_records_dated_tomorrow(company: SyntheticCompany) -> None:
    world = World(company)
    today = world.day
    accounts = company.accounts["account_id"].head(1_500).to_list()
    outcomes = world.step(_actions(world, accounts, Motion.SALES_OUTREACH))
    assert outcomes and all(isinstance(o, Outcome) for o in outcomes)
    assert {o.occurred_at.date() for o in outcomes} == {today + timedelta(days=1)}
    assert {o.outcome_type.value for o in outcomes} >= {"purchase", "unsubscribe"}
    ids = [o.outcome_id for o in outcomes]
    assert len(set(ids)) == len(ids)
    assert not set(ids) & set(company.outcomes["outcome_id"])


def test_actions_as_a_frame_match_actions_as_records(company: SyntheticCompany) -> None:
    accounts = company.accounts["account_id"].head(800).to_list()
    as_records, as_frame = World(company), World(company)
    left = as_records.step_frame(_actions(as_records, accounts, Motion.DIGITAL_PROGRAM))
    actions = pl.DataFrame({"account_id": accounts, "motion": "digital_program"})
    right = as_frame.step_frame(actions)
    assert left.equals(right)


def test_sales_outreach_lifts_persuadables(large_company: SyntheticCompany) -> None:
    """Outreach to persuadables raises next-day purchases by the truth's uplift, +-3 SE."""
    persuadables = _accounts_of(large_company, ResponseType.PERSUADABLE, SALES)
    assert len(persuadables) > 1_000
    treated, control = World(large_company), World(large_company)
    expected = sum(treated.true_uplift(a, Motion.SALES_OUTREACH) for a in persuadables)
    treated_out = treated.step_frame(_actions(treated, persuadables, Motion.SALES_OUTREACH))
    control_out = control.step_frame(_actions(control, persuadables, Motion.NO_ACTION))
    lift = (_purchasers(treated_out, persuadables) - _purchasers(control_out, persuadables)) / len(
        persuadables
    )
    mean_uplift = expected / len(persuadables)
    standard_error = np.sqrt(mean_uplift * (1 - mean_uplift) / len(persuadables))
    assert mean_uplift > 0.04
    assert abs(lift - mean_uplift) < 3 * standard_error
    assert lift > 0.03


def test_sleeping_dogs_unsubscribe_and_do_not_buy_more(large_company: SyntheticCompany) -> None:
    dogs = _accounts_of(large_company, ResponseType.SLEEPING_DOG, SALES)
    assert len(dogs) > 400
    treated, control = World(large_company), World(large_company)
    assert all(treated.true_uplift(a, Motion.SALES_OUTREACH) <= 0 for a in dogs)
    treated_out = treated.step_frame(_actions(treated, dogs, Motion.SALES_OUTREACH))
    control_out = control.step_frame(_actions(control, dogs, Motion.NO_ACTION))

    def left(outcomes: pl.DataFrame) -> int:
        return outcomes.filter(pl.col("outcome_type") == "unsubscribe").height

    assert left(control_out) == 0
    assert left(treated_out) > 0.12 * len(dogs)
    assert _purchasers(treated_out, dogs) <= _purchasers(control_out, dogs)
    assert treated.churned_account_ids and not control.churned_account_ids
    assert (treated.expected_value(dogs, [Motion.SALES_OUTREACH] * len(dogs)) < 0).all()


def test_lost_causes_and_sure_things_do_not_respond(large_company: SyntheticCompany) -> None:
    world = World(large_company)
    for response in (ResponseType.LOST_CAUSE, ResponseType.SURE_THING):
        accounts = _accounts_of(large_company, response, SALES)[:300]
        assert accounts
        assert all(world.true_uplift(a, Motion.SALES_OUTREACH) == 0 for a in accounts)


def test_digital_response_halves_after_the_change_day() -> None:
    config = SimConfig(seed=31, accounts=10_000, history_days=30, change_day=31)
    company = generate(config)
    persuadables = _accounts_of(company, ResponseType.PERSUADABLE, DIGITAL)
    world = World(company)
    before = np.array([world.true_uplift(a, Motion.DIGITAL_PROGRAM) for a in persuadables])
    sampled_before = _purchasers(
        world.step_frame(_actions(world, persuadables, Motion.DIGITAL_PROGRAM)), persuadables
    )
    world.step([])  # day index 30 -> 31: the change day
    after = np.array([world.true_uplift(a, Motion.DIGITAL_PROGRAM) for a in persuadables])
    sampled_after = _purchasers(
        world.step_frame(_actions(world, persuadables, Motion.DIGITAL_PROGRAM)), persuadables
    )
    assert after.sum() == pytest.approx(0.5 * before.sum(), rel=0.05)
    assert sampled_after < 0.75 * sampled_before
    sales_before = World(company).true_uplift(persuadables[0], Motion.SALES_OUTREACH)
    assert world.true_uplift(persuadables[0], Motion.SALES_OUTREACH) == pytest.approx(sales_before)


def test_a_purchase_changes_what_an_account_can_buy(company: SyntheticCompany) -> None:
    world = World(company)
    persuadables = _accounts_of(company, ResponseType.PERSUADABLE, SALES)
    outcomes = world.step_frame(_actions(world, persuadables, Motion.SALES_OUTREACH))
    bought = outcomes.filter(pl.col("outcome_type") == "purchase").row(0, named=True)
    assert world.holds(bought["account_id"], bought["product_id"])
    uplift = world.true_uplift(bought["account_id"], Motion.SALES_OUTREACH, bought["product_id"])
    assert uplift == 0


def test_signals_for_day_are_valid_and_stable(company: SyntheticCompany) -> None:
    world = World(company)
    world.step([])
    signals = world.signals_for_day()
    assert signals and all(isinstance(s, Signal) for s in signals)
    assert {s.occurred_at.date() for s in signals} == {world.day}
    assert world.signal_frame_for_day().equals(world.signal_frame_for_day())
    ids = {s.event_id for s in signals}
    assert len(ids) == len(signals)
    assert not ids & set(company.signals["event_id"])
    expected = company.signals.height / company.config.history_days
    assert 0.5 * expected < len(signals) < 1.5 * expected


def test_ticket_closes_pending_at_as_of_arrive_on_their_day(company: SyntheticCompany) -> None:
    pending = company.truth.pending_signals
    tomorrow = company.as_of + timedelta(days=1)
    due = pending.filter(pl.col("occurred_at").dt.date() == tomorrow)
    assert due.height > 0 and (due["signal_type"] == "support_ticket_closed").all()
    opened = company.signals.filter(pl.col("signal_type") == "support_ticket_opened")
    assert set(due["ref"]) <= set(opened["ref"])
    world = World(company)
    world.step([])
    assert set(due["event_id"]) <= set(world.signal_frame_for_day()["event_id"])


def test_emailed_accounts_open_and_click_the_next_day(company: SyntheticCompany) -> None:
    world = World(company)
    accounts = company.accounts["account_id"].head(1_000).to_list()
    world.step(_actions(world, accounts, Motion.DIGITAL_PROGRAM))
    signals = world.signal_frame_for_day()
    email = signals.filter(
        pl.col("signal_type").is_in(["email_open", "email_click"])
        & pl.col("account_id").is_in(accounts)
    )
    assert email["account_id"].n_unique() > 0.3 * len(accounts)
    assert email["contact_id"].is_not_null().all()


def test_oracle_never_picks_a_losing_motion(company: SyntheticCompany) -> None:
    world = World(company)
    policy = world.oracle_policy()
    assert policy.height == company.accounts.height
    assert set(policy["motion"]) == {m.value for m in Motion}
    assert (policy["expected_value"] >= 0).all()
    acting = policy.filter(pl.col("motion") != "no_action")
    assert (acting["expected_value"] > 0).all() and acting["product_id"].is_not_null().all()
    sample = policy.sample(300, seed=1)
    for motion in Motion:
        values = world.expected_value(sample["account_id"].to_list(), [motion] * sample.height)
        assert (sample["expected_value"].to_numpy() >= values - 1e-9).all()
    actions = [
        SimAction(account_id=r["account_id"], motion=r["motion"], day=world.day)
        for r in acting.head(200).iter_rows(named=True)
    ]
    assert world.policy_value(actions) == pytest.approx(acting.head(200)["expected_value"].sum())


def test_bad_actions_are_refused(company: SyntheticCompany) -> None:
    world = World(company)
    yesterday = world.day - timedelta(days=1)
    with pytest.raises(SimulationError):
        world.step([SimAction(account_id="acct-000001", motion="no_action", day=yesterday)])
    with pytest.raises(SimulationError):
        world.step([SimAction(account_id="acct-999999", motion="no_action", day=world.day)])
    with pytest.raises(SimulationError):
        world.true_uplift("acct-000001", "carrier_pigeon")
    with pytest.raises(SimulationError):
        world.true_uplift("acct-000001", Motion.SALES_OUTREACH, "prod-unknown")
    assert world.day == company.as_of
