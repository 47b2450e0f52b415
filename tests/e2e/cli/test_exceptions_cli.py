"""``nextmove exceptions open``: queue what the system will not decide alone, from the shell."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import nextmove, token_in
from pydantic import SecretStr

from nextmove import Engine, Settings
from nextmove.governance.model import ExceptionKind, ExceptionStatus


def test_open_queues_an_exception_for_its_owner(database_url: str, tmp_path: Path) -> None:
    bootstrap = ("users", "bootstrap", "--id", "root", "--name", "Root")
    root = ("root", token_in(nextmove(database_url, *bootstrap, cwd=tmp_path)))

    owned = nextmove(
        database_url,
        *("exceptions", "open", "data_quality", "12 accounts have no owner"),
        *("--account", "acct-1", "--owner", "steward-1", "--details", '{"rule": "ownership"}'),
        cwd=tmp_path,
        as_user=root,
    )
    mine = nextmove(
        database_url, "exceptions", "open", "drift", "scores moved", cwd=tmp_path, as_user=root
    )

    assert owned.returncode == 0, owned.stderr
    assert mine.returncode == 0, mine.stderr
    settings = Settings(database_url=database_url, user="root", token=SecretStr(root[1]))
    with Engine.open(settings=settings) as engine:
        first, second = engine.exceptions()
    assert owned.stdout.strip() == (
        f"opened exception {first.exception_id} (data_quality) for steward-1 to resolve"
    )
    assert (first.kind, first.summary, first.account_id, first.owner) == (
        ExceptionKind.DATA_QUALITY,
        "12 accounts have no owner",
        "acct-1",
        "steward-1",
    )
    assert first.details == {"rule": "ownership"} and first.status is ExceptionStatus.OPEN
    # Without --owner, whoever opens it owns it.
    assert (
        mine.stdout.strip() == f"opened exception {second.exception_id} (drift) for root to resolve"
    )
    assert (second.kind, second.owner, second.account_id, second.details) == (
        ExceptionKind.DRIFT,
        "root",
        None,
        {},
    )


@pytest.mark.parametrize(
    "args, name",
    [
        (["nonsense", "x"], "KIND"),
        (["drift", "x", "--details", "{rule: 1}"], "--details"),
        (["drift", "x", "--details", '"just text"'], "--details"),
    ],
    ids=["unknown-kind", "invalid-json", "json-text"],
)
def test_bad_input_is_refused_in_one_line_with_exit_2(
    tmp_path: Path, args: list[str], name: str
) -> None:
    database = tmp_path / "cli.db"

    result = nextmove(f"sqlite:///{database}", "exceptions", "open", *args, cwd=tmp_path)

    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith(f"error: {name}: "), line
    assert result.stdout == "" and not database.exists()  # refused before anything opened


def test_an_unknown_kind_names_the_kinds_there_are(tmp_path: Path) -> None:
    result = nextmove(
        f"sqlite:///{tmp_path / 'cli.db'}", "exceptions", "open", "typo", "x", cwd=tmp_path
    )

    assert result.returncode == 2
    kinds = ", ".join(kind.value for kind in ExceptionKind)
    assert result.stderr.strip() == f"error: KIND: unknown kind 'typo'; one of {kinds}"
