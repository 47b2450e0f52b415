"""``nextmove users add --owner``: a user who works as a CRM owner, through the real script."""

from __future__ import annotations

import re
from pathlib import Path

from cli_support import nextmove, token_in


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
