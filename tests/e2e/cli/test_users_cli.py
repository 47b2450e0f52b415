"""``nextmove users add --owner``: a user who works as a CRM owner, through the real script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

NEXTMOVE = str(Path(sys.executable).parent / "nextmove")


def nextmove(
    database_url: str, *args: str, cwd: Path, as_user: tuple[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``nextmove ARGS`` on the database, as ``(user, token)`` when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXTMOVE_")}
    env.update(NEXTMOVE_DATABASE_URL=database_url, COLUMNS="250", NO_COLOR="1", TERM="dumb")
    if as_user is not None:
        env.update(NEXTMOVE_USER=as_user[0], NEXTMOVE_TOKEN=as_user[1])
    return subprocess.run(
        [NEXTMOVE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def token_in(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    return next(lines[n + 1] for n, line in enumerate(lines) if line.startswith("token for"))


def rows(table: str) -> dict[str, list[str]]:
    """Return a printed table's rows by their first cell."""
    found = {}
    for line in table.splitlines():
        if line.startswith(("│", "┃")):  # body and header rows
            cells = [cell.strip() for cell in re.split("[│┃]", line.strip("│┃ "))]
            found[cells[0]] = cells
    return found


def test_users_add_owner_is_stored_and_listed(database_url: str, tmp_path: Path) -> None:
    bootstrap = ("users", "bootstrap", "--id", "root", "--name", "Root")
    root = ("root", token_in(nextmove(database_url, *bootstrap, cwd=tmp_path)))
    add_rita = ("users", "add", "rita", "--name", "Rita", "--role", "rep", "--owner", "o-rita")

    added = nextmove(database_url, *add_rita, cwd=tmp_path, as_user=root)
    plain = nextmove(
        database_url, "users", "add", "abe", "--name", "Abe", "--role", "approver",
        cwd=tmp_path, as_user=root,
    )  # fmt: skip
    blank = nextmove(
        database_url, "users", "add", "bob", "--name", "Bob", "--role", "rep", "--owner", " ",
        cwd=tmp_path, as_user=root,
    )  # fmt: skip
    listed = nextmove(database_url, "users", "list", cwd=tmp_path, as_user=root)

    assert added.stdout.splitlines()[0] == "added rita (Rita) as rep, working as CRM owner o-rita"
    assert plain.stdout.splitlines()[0] == "added abe (Abe) as approver"
    assert blank.returncode == 1 and "Traceback" not in blank.stderr
    assert blank.stderr.strip() == "error: a CRM owner id must be 1 to 128 characters, not blank"
    assert listed.returncode == 0, listed.stderr
    table = rows(listed.stdout)
    assert table["user"][:5] == ["user", "name", "role", "owner", "active"]
    assert table["rita"][:5] == ["rita", "Rita", "rep", "o-rita", "yes"]
    assert table["abe"][:5] == ["abe", "Abe", "approver", "", "yes"]
    assert "bob" not in table
