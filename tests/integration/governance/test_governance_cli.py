"""The governance commands, run through Typer with the identity taken from the environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Protocol

import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner, Result

from nextmove import Engine
from nextmove.cli import governance as cli
from nextmove.cli import session
from nextmove.errors import AccessDenied, AuthenticationFailed, GovernanceError
from nextmove.governance import queue_service as queue
from nextmove.governance import service
from nextmove.governance.model import Actor, ApprovalStatus, ExceptionKind, ExceptionStatus, Role


class Clock(Protocol):
    now: datetime

    def __call__(self) -> datetime: ...


Invoke = Callable[..., Result]


@pytest.fixture
def url(engine: Engine) -> str:
    return engine.settings.database_url


@pytest.fixture
def invoke(url: str, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """Run ``APP ARGS --database-url URL`` as the identity in NEXTMOVE_USER/NEXTMOVE_TOKEN."""
    for name in ("NEXTMOVE_USER", "NEXTMOVE_TOKEN", "NEXTMOVE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(session, "system_clock", clock)
    runner = CliRunner()

    def run(app: typer.Typer, *args: str) -> Result:
        return runner.invoke(app, [*args, "--database-url", url])

    yield run


def act_as(monkeypatch: pytest.MonkeyPatch, user_id: str, token: str) -> None:
    monkeypatch.setenv("NEXTMOVE_USER", user_id)
    monkeypatch.setenv("NEXTMOVE_TOKEN", token)


def token_in(result: Result) -> str:
    lines = result.stdout.splitlines()
    return lines[lines.index(next(line for line in lines if line.startswith("token for"))) + 1]


@pytest.fixture
def root_token(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> str:
    result = invoke(cli.users_app, "bootstrap", "--id", "root", "--name", "Root")
    assert result.exit_code == 0, result.output
    token = token_in(result)
    act_as(monkeypatch, "root", token)
    return token


def add(invoke: Invoke, user_id: str, role: Role) -> str:
    result = invoke(cli.users_app, "add", user_id, "--name", user_id.title(), "--role", role.value)
    assert result.exit_code == 0, result.output
    return token_in(result)


def test_bootstrap_prints_the_token_once_with_a_warning(invoke: Invoke, engine: Engine) -> None:
    result = invoke(cli.users_app, "bootstrap", "--id", "root", "--name", "Root")
    assert result.exit_code == 0, result.output
    token = token_in(result)
    assert "created admin root (Root)" in result.stdout
    assert "store this token now" in result.stderr
    actor = service.authenticate(store=engine.database, user_id="root", token=token)
    assert actor.role is Role.ADMIN
    again = invoke(cli.users_app, "bootstrap", "--id", "eve", "--name", "Eve")
    assert isinstance(again.exception, GovernanceError) and again.exit_code == 1


def test_users_add_list_rotate_and_deactivate(
    invoke: Invoke, root_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana_token = add(invoke, "ana", Role.APPROVER)
    listed = invoke(cli.users_app, "list")
    assert listed.exit_code == 0 and "ana" in listed.stdout and "approver" in listed.stdout
    assert root_token not in listed.stdout and "scrypt" not in listed.stdout
    act_as(monkeypatch, "ana", ana_token)
    rotated = invoke(cli.users_app, "rotate-token")
    assert rotated.exit_code == 0, rotated.output
    new_token = token_in(rotated)
    assert isinstance(invoke(cli.users_app, "list").exception, AuthenticationFailed)
    act_as(monkeypatch, "ana", new_token)
    assert isinstance(invoke(cli.users_app, "list").exception, AccessDenied)
    act_as(monkeypatch, "root", root_token)
    assert invoke(cli.users_app, "deactivate", "ana").exit_code == 0
    act_as(monkeypatch, "ana", new_token)
    refused = invoke(cli.kill_app, "list")
    assert isinstance(refused.exception, AuthenticationFailed)
    assert "deactivated" in str(refused.exception)


def test_an_identity_is_required_and_checked(
    invoke: Invoke, root_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEXTMOVE_TOKEN")
    missing = invoke(cli.approvals_app, "list")
    assert isinstance(missing.exception, AuthenticationFailed)
    assert "NEXTMOVE_USER and NEXTMOVE_TOKEN" in str(missing.exception)
    act_as(monkeypatch, "root", root_token + "x")
    assert isinstance(invoke(cli.approvals_app, "list").exception, AuthenticationFailed)


def test_a_viewer_reads_but_may_not_change(
    invoke: Invoke, root_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    act_as(monkeypatch, "vic", add(invoke, "vic", Role.VIEWER))
    assert invoke(cli.kill_app, "list").exit_code == 0
    assert invoke(cli.audit_app, "verify").exit_code == 0
    refused = invoke(cli.kill_app, "engage", "global", "--reason", "x")
    assert isinstance(refused.exception, AccessDenied)
    assert str(refused.exception) == "user vic (viewer) may not engage_kill_switch"
    refused = invoke(cli.users_app, "add", "eve", "--name", "Eve", "--role", "admin")
    assert isinstance(refused.exception, AccessDenied)


def test_kill_switches_engage_list_and_release(invoke: Invoke, root_token: str) -> None:
    engaged = invoke(cli.kill_app, "engage", "motion", "sales_outreach", "--reason", "bad list")
    assert engaged.exit_code == 0, engaged.output
    assert "kill switch engaged on motion sales_outreach" in engaged.stdout
    listed = invoke(cli.kill_app, "list")
    assert "sales_outreach" in listed.stdout and "bad list" in listed.stdout
    released = invoke(cli.kill_app, "release", "motion", "sales_outreach")
    assert released.exit_code == 0 and "released" in released.stdout
    assert "no kill switch is engaged" in invoke(cli.kill_app, "list").stdout
    assert invoke(cli.kill_app, "engage", "planet", "--reason", "x").exit_code == 2  # no scope
    assert invoke(cli.kill_app, "engage", "global").exit_code == 2  # --reason is required


def test_approvals_list_show_approve_reject_and_edit(
    invoke: Invoke,
    root_token: str,
    engine: Engine,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add(invoke, "rita", Role.REP)
    act_as(monkeypatch, "abe", add(invoke, "abe", Role.APPROVER))
    rita = Actor(user_id="rita", role=Role.REP)
    ids = [
        queue.request_approval(
            store=engine.database,
            actor=rita,
            account_id=f"acct-{n}",
            action="sales_outreach",
            payload={"discount": 0.1},
            value=1_000.0 * n,
            expires_at=clock() + timedelta(days=2),
            now=clock,
        ).approval_id
        for n in (1, 2, 3)
    ]
    listed = invoke(cli.approvals_app, "list")
    assert listed.exit_code == 0 and all(f"acct-{n}" in listed.stdout for n in (1, 2, 3))
    shown = invoke(cli.approvals_app, "show", str(ids[0]))
    assert shown.exit_code == 0 and '"discount": 0.1' in shown.stdout
    assert "approved" in invoke(cli.approvals_app, "approve", str(ids[0])).stdout
    no_reason = invoke(cli.approvals_app, "reject", str(ids[1]))
    assert no_reason.exit_code == 2  # --reason is required
    rejected = invoke(cli.approvals_app, "reject", str(ids[1]), "--reason", "too generous")
    assert rejected.exit_code == 0 and "rejected" in rejected.stdout
    edited = invoke(
        cli.approvals_app, "edit", str(ids[2]), "--set", "discount=0.05", "--set", "note=call first"
    )
    assert edited.exit_code == 0, edited.output
    root = Actor(user_id="root", role=Role.ADMIN)  # a rep without an owner sees none
    item = queue.get_approval(store=engine.database, actor=root, approval_id=ids[2])
    assert item.status is ApprovalStatus.APPROVED
    assert item.payload == {"discount": 0.05, "note": "call first"}
    assert "no approvals pending" in invoke(cli.approvals_app, "list").stdout
    every = invoke(cli.approvals_app, "list", "--all")
    assert "rejected" in every.stdout
    bad = invoke(cli.approvals_app, "edit", str(ids[2]), "--set", "nonsense")
    assert bad.exit_code == 2


def test_the_requester_cannot_approve_through_the_cli(
    invoke: Invoke, root_token: str, engine: Engine, clock: Clock
) -> None:
    root = Actor(user_id="root", role=Role.ADMIN)
    approval = queue.request_approval(
        store=engine.database,
        actor=root,
        account_id="acct-1",
        action="sales_outreach",
        payload={},
        expires_at=clock() + timedelta(days=1),
        now=clock,
    )
    refused = invoke(cli.approvals_app, "approve", str(approval.approval_id))
    assert isinstance(refused.exception, GovernanceError)


def test_exceptions_list_show_and_resolve(
    invoke: Invoke, root_token: str, engine: Engine, clock: Clock
) -> None:
    root = Actor(user_id="root", role=Role.ADMIN)
    item = queue.open_exception(
        store=engine.database,
        actor=root,
        kind=ExceptionKind.RULE_CONFLICT,
        summary="caps make digital_program impossible",
        details={"rule": "contact_policy.email"},
        owner="steward-1",
        now=clock,
    )
    listed = invoke(cli.exceptions_app, "list", "--owner", "steward-1")
    assert listed.exit_code == 0 and "rule_conflict" in listed.stdout
    shown = invoke(cli.exceptions_app, "show", str(item.exception_id))
    assert "contact_policy.email" in shown.stdout
    missing = invoke(cli.exceptions_app, "resolve", str(item.exception_id))
    assert missing.exit_code == 2  # --resolution is required
    done = invoke(
        cli.exceptions_app, "resolve", str(item.exception_id), "--resolution", "cap raised"
    )
    assert done.exit_code == 0 and "resolved" in done.stdout
    stored = queue.get_exception(store=engine.database, actor=root, exception_id=item.exception_id)
    assert stored.status is ExceptionStatus.RESOLVED and stored.resolution == "cap raised"
    assert "no exceptions open" in invoke(cli.exceptions_app, "list").stdout


def test_audit_list_and_verify_detect_tampering(
    invoke: Invoke, root_token: str, engine: Engine
) -> None:
    add(invoke, "ana", Role.OPS)
    invoke(cli.kill_app, "engage", "global", "--reason", "drill")
    listed = invoke(cli.audit_app, "list", "--action", "kill_switch.engage")
    assert listed.exit_code == 0 and "kill_switch:global" in listed.stdout
    intact = invoke(cli.audit_app, "verify")
    assert intact.exit_code == 0 and "audit chain intact: 3 entries" in intact.stdout
    with engine.database.begin() as connection:
        connection.execute(text("UPDATE audit_log SET subject = 'user:eve' WHERE seq = 2"))
    broken = invoke(cli.audit_app, "verify")
    assert broken.exit_code == 1
    assert "audit chain broken at entry 2" in broken.stderr
    assert "edited" in broken.stderr
