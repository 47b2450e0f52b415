"""``nextmove approvals request``, and a rep's view of the queue, through the real script."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import nextmove, token_in
from pydantic import SecretStr

from nextmove import Engine, Settings
from nextmove.domain import Account


def acting(database_url: str, user: tuple[str, str]) -> Engine:
    settings = Settings(database_url=database_url, user=user[0], token=SecretStr(user[1]))
    return Engine.open(settings=settings)


def test_request_prints_the_id_the_approvers_needed_and_the_expiry(
    database_url: str, tmp_path: Path
) -> None:
    bootstrap = ("users", "bootstrap", "--id", "root", "--name", "Root")
    root = ("root", token_in(nextmove(database_url, *bootstrap, cwd=tmp_path)))

    result = nextmove(
        database_url,
        *("approvals", "request", "acct-1", "sales_outreach", "--product", "prod-analytics"),
        *("--value", "25000", "--payload", '{"discount": 0.1, "message": "Hello"}'),
        *("--expires-in-hours", "24"),
        cwd=tmp_path,
        as_user=root,
    )

    assert result.returncode == 0, result.stderr
    with acting(database_url, root) as engine:
        [stored] = engine.approvals()
    assert result.stdout.splitlines() == [
        f"requested approval {stored.approval_id}: sales_outreach on acct-1",
        "required approvers: 1",
        f"expires: {stored.expires_at:%Y-%m-%d %H:%M} UTC",
    ]
    assert (stored.account_id, stored.action, stored.product_id) == (
        "acct-1",
        "sales_outreach",
        "prod-analytics",
    )
    assert stored.value == 25_000.0 and stored.requested_by == "root"
    assert stored.payload == {"discount": 0.1, "message": "Hello"}
    waiting = stored.expires_at - stored.requested_at
    assert timedelta(hours=24) - timedelta(minutes=1) < waiting <= timedelta(hours=24)


@pytest.mark.parametrize(
    "args, name",
    [
        (["--value", "-5"], "--value"),
        (["--value", "lots"], "--value"),
        (["--payload", "{discount: 0.1}"], "--payload"),
        (["--payload", "[1, 2]"], "--payload"),
        (["--expires-in-hours", "0"], "--expires-in-hours"),
        (["--expires-in-hours", "-3"], "--expires-in-hours"),
    ],
    ids=["negative-value", "text-value", "invalid-json", "json-list", "no-time", "past"],
)
def test_bad_request_input_is_refused_in_one_line_with_exit_2(
    tmp_path: Path, args: list[str], name: str
) -> None:
    database = tmp_path / "cli.db"
    request = ("approvals", "request", "acct-1", "sales_outreach")

    result = nextmove(f"sqlite:///{database}", *request, *args, cwd=tmp_path)

    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith(f"error: {name}: "), line
    assert result.stdout == "" and not database.exists()  # refused before anything opened


def test_a_rep_sees_only_the_approvals_of_its_own_accounts(
    database_url: str, tmp_path: Path
) -> None:
    with Engine.open(database_url) as engine:  # single-user until the first admin exists
        engine.ingest(
            [
                Account(account_id="acct-rita", name="Rita's", owner_id="o-rita"),
                Account(account_id="acct-sam", name="Sam's", owner_id="o-sam"),
            ]
        )
    bootstrap = ("users", "bootstrap", "--id", "root", "--name", "Root")
    root = ("root", token_in(nextmove(database_url, *bootstrap, cwd=tmp_path)))
    add_rita = ("users", "add", "rita", "--name", "Rita", "--role", "rep", "--owner", "o-rita")
    rita = ("rita", token_in(nextmove(database_url, *add_rita, cwd=tmp_path, as_user=root)))
    with acting(database_url, root) as engine:
        for account_id in ("acct-sam", "acct-rita"):
            engine.request_approval(
                account_id=account_id,
                action="sales_outreach",
                payload={},
                expires_at=datetime.now(UTC) + timedelta(days=2),
            )
        [sams] = [item.approval_id for item in engine.approvals() if item.account_id == "acct-sam"]

    mine = nextmove(database_url, "approvals", "list", cwd=tmp_path, as_user=rita)
    hidden = nextmove(database_url, "approvals", "show", str(sams), cwd=tmp_path, as_user=rita)
    everything = nextmove(database_url, "approvals", "list", cwd=tmp_path, as_user=root)

    assert mine.returncode == 0, mine.stderr
    assert "acct-rita" in mine.stdout and "acct-sam" not in mine.stdout
    assert hidden.returncode == 1 and "Traceback" not in hidden.stderr
    assert hidden.stderr.strip() == f"error: no approval {sams}"
    assert everything.returncode == 0, everything.stderr
    assert "acct-rita" in everything.stdout and "acct-sam" in everything.stdout
