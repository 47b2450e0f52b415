"""Autonomy demotions: stored, audited, announced, effective at once, restored by people."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from nextmove import Engine
from nextmove.errors import AccessDenied, GovernanceError
from nextmove.governance.model import ExceptionStatus, Role
from nextmove.playbook.model import AutonomyLevel, DemotionTrigger


def test_a_guardrail_breach_demotes_only_the_autonomous_actions(playbook_engine: Engine) -> None:
    engine = playbook_engine
    assert engine.demoted_levels() == {}
    changed = engine.demote_autonomy(
        DemotionTrigger.GUARDRAIL_BREACH,
        reason="an email went to an opted-out contact",
        evidence={"account_id": "acc-1"},
    )
    # digital_program is auto; sales_outreach (approve) and service_conversation
    # (recommend) never act alone, so a breach has nothing to take from them.
    assert [(d.action, d.level) for d in changed] == [("digital_program", AutonomyLevel.APPROVE)]
    assert engine.demoted_levels() == {"digital_program": AutonomyLevel.APPROVE}

    announced = engine.exception(changed[0].exception_id or 0)
    assert announced.status is ExceptionStatus.OPEN
    assert announced.owner == "admin"  # the example gives the autonomy section to admin
    assert "nextmove autonomy restore digital_program" in announced.summary
    assert announced.details["evidence"] == {"account_id": "acc-1"}

    demote = engine.audit_entries(action="autonomy.demote")
    assert [entry.subject for entry in demote] == ["action:digital_program"]
    assert demote[0].playbook_version == engine.playbook().version  # type: ignore[union-attr]
    assert engine.verify_audit().ok


def test_a_lower_demotion_replaces_a_higher_one_and_a_higher_one_changes_nothing(
    playbook_engine: Engine,
) -> None:
    engine = playbook_engine
    engine.demote_autonomy(DemotionTrigger.GUARDRAIL_BREACH, reason="breach")
    lowered = engine.demote_autonomy(DemotionTrigger.COMPLAINT_SPIKE, reason="complaints x4")
    assert [(d.action, d.level) for d in lowered] == [("digital_program", AutonomyLevel.SHADOW)]
    assert engine.demote_autonomy(DemotionTrigger.DRIFT_ALERT, reason="drift") == []
    assert engine.demoted_levels() == {"digital_program": AutonomyLevel.SHADOW}
    assert len(engine.autonomy_demotions()) == 1


def test_restoring_lifts_the_demotion_and_resolves_its_announcement(
    playbook_engine: Engine,
) -> None:
    engine = playbook_engine
    (demotion,) = engine.demote_autonomy(DemotionTrigger.DRIFT_ALERT, reason="conversion fell")
    with pytest.raises(GovernanceError, match="needs a reason"):
        engine.restore_autonomy("digital_program", reason=" ")
    restored = engine.restore_autonomy("digital_program", reason="model retrained, checked")
    assert restored.restored_by == "local" and restored.level is AutonomyLevel.APPROVE
    assert engine.demoted_levels() == {}
    announcement = engine.exception(demotion.exception_id or 0)
    assert announcement.status is ExceptionStatus.RESOLVED
    assert "model retrained" in (announcement.resolution or "")
    assert [e.subject for e in engine.audit_entries(action="autonomy.restore")] == [
        "action:digital_program"
    ]
    with pytest.raises(GovernanceError, match="is not demoted"):
        engine.restore_autonomy("digital_program", reason="again")


def test_naming_an_action_the_trigger_does_not_concern_is_refused(
    playbook_engine: Engine,
) -> None:
    with pytest.raises(GovernanceError, match="does not demote sales_outreach"):
        playbook_engine.demote_autonomy("guardrail_breach", reason="x", actions=["sales_outreach"])
    with pytest.raises(GovernanceError, match="unknown action 'email_blast'"):
        playbook_engine.demote_autonomy("guardrail_breach", reason="x", actions=["email_blast"])
    assert playbook_engine.demoted_levels() == {}


def test_demotion_needs_an_active_playbook(engine: Engine) -> None:
    with pytest.raises(GovernanceError, match="no playbook is active"):
        engine.demote_autonomy(DemotionTrigger.DRIFT_ALERT, reason="drift")


def test_only_trusted_roles_demote_and_restore(
    playbook_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = playbook_engine
    _admin, admin_token = engine.bootstrap_admin("root", "Root")
    as_root = engine.settings.model_copy(update={"user": "root", "token": SecretStr(admin_token)})
    with Engine.open(settings=as_root, clock=engine._clock) as root:
        _rep, rep_token = root.add_user("rita", "Rita", Role.REP)
        _ops, ops_token = root.add_user("otto", "Otto", Role.OPS)
    as_rep = engine.settings.model_copy(update={"user": "rita", "token": SecretStr(rep_token)})
    with Engine.open(settings=as_rep, clock=engine._clock) as rep:
        with pytest.raises(AccessDenied):
            rep.demote_autonomy(DemotionTrigger.DRIFT_ALERT, reason="drift")
    as_ops = engine.settings.model_copy(update={"user": "otto", "token": SecretStr(ops_token)})
    with Engine.open(settings=as_ops, clock=engine._clock) as ops:
        (demotion,) = ops.demote_autonomy(DemotionTrigger.DRIFT_ALERT, reason="drift")
        assert demotion.demoted_by == "otto"
        ops.restore_autonomy("digital_program", reason="checked")
