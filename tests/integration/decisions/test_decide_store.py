"""Deciding through the Engine on SQLite and PostgreSQL: stored, audited, governed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from nextmove import Engine
from nextmove.domain import Outcome
from nextmove.governance.model import KillScope
from nextmove.playbook.model import DemotionTrigger
from nextmove.sim import SimConfig, generate, write_company

AS_OF = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "playbooks" / "b2b_saas.yaml"


@pytest.fixture(scope="module")
def company_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("company")
    company = generate(SimConfig(seed=5, accounts=400))
    write_company(company, folder, fmt="csv")
    return folder


@pytest.fixture
def decider(engine: Engine, company_folder: Path) -> Engine:
    engine.import_folder(company_folder)
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "min_expected_value: 2500", "min_expected_value: 100"
    )
    engine.apply_playbook(text, message="example rules, cheaper sales threshold")
    return engine


def test_a_run_stores_one_decision_per_account_and_is_audited(decider: Engine) -> None:
    run = decider.decide(as_of=AS_OF)
    logged = decider.decisions(run_id=run.run_id, include_no_action=True)
    accounts = decider.count("accounts")
    assert logged.height == run.decisions.height == accounts
    assert logged["account_id"].n_unique() == accounts
    assert logged.drop("run_id").equals(run.decisions)
    assert json.loads(logged["reasons"][0])["why"]
    # The decisions that ask for something are rows of their own, for queues and execution.
    acting = decider.decisions(run_id=run.run_id)
    expected = run.decisions.filter(pl.col("action") != "no_action")
    assert acting.height == expected.height > 0
    assert set(acting["account_id"]) == set(expected["account_id"])
    assert (acting["as_of"] == AS_OF).all()
    assert (acting["model_version"] == run.model_version).all()
    assert (acting["playbook_version"] == run.playbook_version).all()
    assert acting["propensity"].is_between(0, 1, closed="right").all()
    audit = decider.audit_entries(action="decision.run")
    assert [entry.subject for entry in audit] == [f"decision_run:{run.run_id}"]
    assert json.loads(audit[0].details)["actions"] == acting.height
    assert decider.verify_audit().ok


def test_capacity_used_earlier_in_the_day_is_not_given_twice(decider: Engine) -> None:
    first = decider.decide(as_of=AS_OF)
    second = decider.decide(as_of=AS_OF + timedelta(hours=1))
    per_owner = (
        pl.concat([first.decisions, second.decisions])
        .filter(pl.col("action") == "sales_outreach")
        .group_by("owner_id")
        .len()
    )
    assert per_owner.height == 0 or int(per_owner["len"].max()) <= 6  # type: ignore[arg-type]
    # An auto email sent in the first run quiets its account for the second.
    emailed = first.decisions.filter(
        (pl.col("action") == "digital_program") & (pl.col("autonomy") == "auto")
    )["account_id"]
    again = second.decisions.filter(
        pl.col("account_id").is_in(emailed) & (pl.col("action") != "no_action")
    )
    assert again.height == 0


def test_kill_switch_and_demotion_apply_to_the_next_decision(decider: Engine) -> None:
    decider.demote_autonomy(DemotionTrigger.DRIFT_ALERT, reason="drift")
    demoted = decider.decide(as_of=AS_OF).decisions
    assert "auto" not in set(
        demoted.filter(pl.col("action") == "digital_program")["autonomy"].to_list()
    )
    decider.engage_kill_switch(KillScope.GLOBAL, reason="incident")
    stopped = decider.decide(as_of=AS_OF + timedelta(days=1)).decisions
    assert set(stopped["action"]) == {"no_action"}


def test_decide_for_one_account_and_learning(decider: Engine) -> None:
    account_id = decider.decide(as_of=AS_OF).decisions["account_id"][7]
    one = decider.decide_for(account_id, as_of=AS_OF + timedelta(minutes=5))
    assert one.mode == "realtime" and one.decisions["account_id"].to_list() == [account_id]
    history = decider.decisions(account_id=account_id, include_no_action=True)
    assert history["run_id"].to_list() == [one.run_id, one.run_id - 1]
    with pytest.raises(Exception, match="no account 'acct-nobody'"):
        decider.decide_for("acct-nobody", as_of=AS_OF)

    report = decider.learn(as_of=AS_OF + timedelta(days=2))
    assert not report.learned  # no outcome after the decisions yet: priors stay in charge
    acted = decider.decisions().head(5)
    decider.record_outcomes(
        Outcome(
            outcome_id=f"out-test-{i}",
            account_id=row["account_id"],
            outcome_type="purchase",
            product_id=row["product_id"],
            value=1000.0,
            occurred_at=AS_OF + timedelta(days=1),
        )
        for i, row in enumerate(acted.iter_rows(named=True))
    )
    learned = decider.learn(as_of=AS_OF + timedelta(days=2))
    assert learned.learned and learned.rows > 0
    after = decider.decide(as_of=AS_OF + timedelta(days=2))
    assert after.model_version == learned.model_version


def test_a_refused_move_demotes_autonomy_until_someone_looks(
    decider: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from nextmove.decisions import service

    real = service.decide_accounts

    def refusing(*args: object, **kwargs: object) -> object:
        return replace(real(*args, **kwargs), breaches=2)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "decide_accounts", refusing)
    run = decider.decide(as_of=AS_OF)
    (demotion,) = decider.autonomy_demotions()
    assert demotion.action == "digital_program" and demotion.demoted_by == "system"
    assert f"decision run {run.run_id}" in demotion.reason
    monkeypatch.setattr(service, "decide_accounts", real)
    after = decider.decide(as_of=AS_OF + timedelta(days=1)).decisions
    assert "auto" not in set(after.filter(pl.col("action") != "no_action")["autonomy"])
